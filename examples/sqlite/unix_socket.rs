//! The example's Unix-domain socket: `DIR/.s.PGSQL.<port>`, the name
//! PostgreSQL's clients look for, removed when the server stops.

use std::path::{Path, PathBuf};

/// The socket file, removed on drop.
pub struct SocketPath(PathBuf);

impl SocketPath {
    /// The path.
    pub fn display(&self) -> std::path::Display<'_> {
        self.0.display()
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The listener, wrapped so that it is dropped (closed) before the socket
/// file goes.
pub struct Listener(pub tokio::net::UnixListener);

/// Binds `dir/.s.PGSQL.<port>`. A file left there by a server that is gone
/// is replaced; one a live server answers on is an error, as PostgreSQL's
/// "is another postmaster already running?".
pub fn bind(dir: &Path, port: u16) -> Result<(Listener, SocketPath), String> {
    let path = dir.join(format!(".s.PGSQL.{port}"));
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(format!(
                "cannot listen on {}: another server is already running on this socket",
                path.display()
            ));
        }
        // Nobody answers: a stale file from a server that did not clean up.
        std::fs::remove_file(&path)
            .map_err(|e| format!("cannot remove stale socket {}: {e}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    Ok((Listener(listener), SocketPath(path)))
}
