//! Terminate ('X') and the other messages without a body.

/// Defines a message that has a type byte and an empty body.
macro_rules! empty_message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $name {
            /// The encoded message: type byte and a length of 4.
            pub const FRAME: [u8; 5] = [$tag, 0, 0, 0, 4];
        }

        impl $crate::messages::Message for $name {
            const NAME: &'static str = $label;
            const TAG: Option<u8> = Some($tag);

            fn encode_body(&self, _buf: &mut bytes::BytesMut) {}

            /// The whole frame is a constant: one `put_slice`.
            #[inline]
            fn encode(&self, buf: &mut bytes::BytesMut) {
                bytes::BufMut::put_slice(buf, &Self::FRAME);
            }

            fn decode_body(body: bytes::Bytes) -> Result<Self, $crate::messages::DecodeError> {
                if body.is_empty() {
                    Ok($name)
                } else {
                    Err($crate::messages::DecodeError::TrailingBytes {
                        tag: Some($tag),
                        message: $label,
                    })
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
