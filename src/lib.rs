//! # pgwire
//!
//! The PostgreSQL frontend/backend wire protocol (versions 3.0 and 3.2).
// One audited exception: `messages::ByteStr::as_str` (see its comment).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod messages;

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod types;
