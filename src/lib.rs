//! # pgwire
//!
//! The PostgreSQL frontend/backend wire protocol (versions 3.0 and 3.2).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod messages;
