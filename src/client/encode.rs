//! Frontend messages written straight into the write buffer, without
//! building message values first: the per-query hot path (Bind, Execute,
//! Sync) allocates nothing.

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, ToSql, Type};

use super::error::Error;

/// Writes the type byte and a length placeholder; returns where the
/// length goes.
fn begin(buf: &mut BytesMut, tag: u8) -> usize {
    buf.put_u8(tag);
    let at = buf.len();
    buf.put_i32(0);
    at
}

/// Patches the length in.
fn end(buf: &mut BytesMut, at: usize) -> Result<(), Error> {
    let len = i32::try_from(buf.len() - at)
        .map_err(|_| Error::Usage("message longer than 2 GiB".into()))?;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_cstr(buf: &mut BytesMut, s: &str) -> Result<(), Error> {
    if s.as_bytes().contains(&0) {
        return Err(Error::Usage("string contains a NUL byte".into()));
    }
    buf.put_slice(s.as_bytes());
    buf.put_u8(0);
    Ok(())
}

/// Query.
pub(crate) fn query(buf: &mut BytesMut, sql: &str) -> Result<(), Error> {
    let at = begin(buf, b'Q');
    put_cstr(buf, sql)?;
    end(buf, at)
}

/// Parse.
pub(crate) fn parse(
    buf: &mut BytesMut,
    name: &str,
    sql: &str,
    types: &[Type],
) -> Result<(), Error> {
    let at = begin(buf, b'P');
    put_cstr(buf, name)?;
    put_cstr(buf, sql)?;
    let n =
        i16::try_from(types.len()).map_err(|_| Error::Usage("too many parameter types".into()))?;
    buf.put_i16(n);
    for t in types {
        buf.put_u32(t.oid());
    }
    end(buf, at)
}

/// Describe ('S' statement or 'P' portal).
pub(crate) fn describe(buf: &mut BytesMut, kind: u8, name: &str) -> Result<(), Error> {
    let at = begin(buf, b'D');
    buf.put_u8(kind);
    put_cstr(buf, name)?;
    end(buf, at)
}

/// Close ('S' statement or 'P' portal).
pub(crate) fn close(buf: &mut BytesMut, kind: u8, name: &str) -> Result<(), Error> {
    let at = begin(buf, b'C');
    buf.put_u8(kind);
    put_cstr(buf, name)?;
    end(buf, at)
}

/// Bind, each parameter encoded by its `ToSql` in the format it prefers,
/// straight into the buffer. On error the buffer is restored.
pub(crate) fn bind(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    types: &[Type],
    params: &[&(dyn ToSql + Sync)],
    result_format: i16,
) -> Result<(), Error> {
    if types.len() != params.len() {
        return Err(Error::Usage(format!(
            "the statement has {} parameters but {} were given",
            types.len(),
            params.len()
        )));
    }
    let start = buf.len();
    let r = bind_inner(buf, portal, statement, types, params, result_format);
    if r.is_err() {
        buf.truncate(start);
    }
    r
}

fn bind_inner(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    types: &[Type],
    params: &[&(dyn ToSql + Sync)],
    result_format: i16,
) -> Result<(), Error> {
    let at = begin(buf, b'B');
    put_cstr(buf, portal)?;
    put_cstr(buf, statement)?;
    let n = params.len() as i16;
    buf.put_i16(n);
    for (p, t) in params.iter().zip(types) {
        buf.put_i16(match p.encode_format(t) {
            postgres_types::Format::Text => 0,
            postgres_types::Format::Binary => 1,
        });
    }
    buf.put_i16(n);
    for (p, t) in params.iter().zip(types) {
        let len_at = buf.len();
        buf.put_i32(0);
        match p.to_sql_checked(t, buf).map_err(Error::Conversion)? {
            IsNull::Yes => buf[len_at..len_at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
            IsNull::No => {
                let len = i32::try_from(buf.len() - len_at - 4)
                    .map_err(|_| Error::Usage("parameter longer than 2 GiB".into()))?;
                buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
    }
    buf.put_i16(1);
    buf.put_i16(result_format);
    end(buf, at)
}

/// Execute.
pub(crate) fn execute(buf: &mut BytesMut, portal: &str, max_rows: i32) -> Result<(), Error> {
    let at = begin(buf, b'E');
    put_cstr(buf, portal)?;
    buf.put_i32(max_rows);
    end(buf, at)
}

/// Sync.
pub(crate) fn sync(buf: &mut BytesMut) {
    buf.put_slice(&[b'S', 0, 0, 0, 4]);
}
