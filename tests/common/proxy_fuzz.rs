//! The property the `proxy_header` fuzz target checks, shared with the
//! stable replay in `tests/proxy_protocol.rs`: the PROXY header parser
//! never panics, a complete header is never longer than the input, every
//! shorter prefix of it is "incomplete" with a truthful lower bound, and
//! parsing just the header gives the same result.

use pgwire::server::proxy_protocol::{Parsed, parse_header};

pub fn proxy_header_target(data: &[u8]) {
    let Ok(parsed) = parse_header(data) else {
        return;
    };
    match parsed {
        Parsed::Incomplete { min_more } => assert!(min_more >= 1),
        Parsed::Complete { header, len } => {
            assert!(len <= data.len(), "header longer than the input");
            let again = parse_header(&data[..len]).expect("the header alone parses");
            assert_eq!(again, Parsed::Complete { header, len });
            for n in 0..len {
                match parse_header(&data[..n]) {
                    Ok(Parsed::Incomplete { min_more }) => {
                        assert!(n + min_more <= len, "min_more overshoots the header")
                    }
                    other => panic!("prefix {n} of a {len}-byte header: {other:?}"),
                }
            }
        }
    }
}
