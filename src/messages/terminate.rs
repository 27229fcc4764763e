//! Terminate ('X') and the other messages without a body.

/// Defines a message that has a type byte and an empty body.
macro_rules! empty_message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $crate::messages::Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = Some($tag);

            fn encode_body(&self, _buf: &mut bytes::BytesMut) {}

            fn decode_body(body: bytes::Bytes) -> Result<Self, $crate::messages::DecodeError> {
                if body.is_empty() {
                    Ok($name)
                } else {
                    Err($crate::messages::DecodeError::TrailingBytes { message: $label })
                }
            }
        }
    };
}
pub(crate) use empty_message;

empty_message!(
    /// Terminate ('X'): the client is closing the connection.
    Terminate,
    "Terminate",
    b'X'
);
