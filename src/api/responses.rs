//! [`Responses`]: the answers to a query string, one per statement.

use std::fmt;

use super::results::{QueryResponse, Response};
use crate::error::ErrorInfo;

/// The answers to a query string sent with the simple query protocol: one
/// [`Response`] per statement, in order, as
/// [`SimpleQueryHandler::do_query`](super::SimpleQueryHandler::do_query)
/// returns them.
///
/// Nearly every query string holds one statement, so one response is kept
/// without allocating; more go to a `Vec`. Build it from a response
/// (`Response::EmptyQuery.into()`), from a `Vec<Response>` or an array,
/// by collecting an iterator, or with [`push`](Responses::push):
///
/// ```
/// use pgwire::api::{Response, Responses, Tag};
///
/// let one: Responses = Response::Execution(Tag::new("BEGIN")).into();
/// assert_eq!(one.len(), 1);
///
/// let mut two = Responses::new();
/// two.push(Response::Execution(Tag::new("CREATE TABLE")));
/// two.push(Response::Execution(Tag::insert(1)));
/// assert_eq!(two.len(), 2);
///
/// let three: Responses = (0..3).map(|_| Response::EmptyQuery).collect();
/// assert_eq!(three.into_iter().count(), 3);
/// ```
pub struct Responses(Repr);

enum Repr {
    One(Response),
    /// Empty (without allocating) or two and more.
    Many(Vec<Response>),
}

impl Responses {
    /// No responses yet.
    pub const fn new() -> Self {
        Responses(Repr::Many(Vec::new()))
    }

    /// Appends the response to the next statement.
    pub fn push(&mut self, response: impl Into<Response>) {
        let response = response.into();
        self.0 = match std::mem::replace(&mut self.0, Repr::Many(Vec::new())) {
            Repr::Many(all) if all.is_empty() => Repr::One(response),
            Repr::Many(mut all) => {
                all.push(response);
                Repr::Many(all)
            }
            Repr::One(first) => Repr::Many(vec![first, response]),
        };
    }

    /// The responses, in order.
    pub fn as_slice(&self) -> &[Response] {
        match &self.0 {
            Repr::One(one) => std::slice::from_ref(one),
            Repr::Many(all) => all,
        }
    }

    /// The responses, in order, to change in place.
    pub fn as_mut_slice(&mut self) -> &mut [Response] {
        match &mut self.0 {
            Repr::One(one) => std::slice::from_mut(one),
            Repr::Many(all) => all,
        }
    }

    /// The number of responses.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Iterates over the responses.
    pub fn iter(&self) -> std::slice::Iter<'_, Response> {
        self.as_slice().iter()
    }

    /// The responses as a `Vec`.
    pub fn into_vec(self) -> Vec<Response> {
        match self.0 {
            Repr::One(one) => vec![one],
            Repr::Many(all) => all,
        }
    }
}

impl Default for Responses {
    fn default() -> Self {
        Responses::new()
    }
}

impl fmt::Debug for Responses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Response> for Responses {
    fn from(response: Response) -> Self {
        Responses(Repr::One(response))
    }
}

impl From<QueryResponse> for Responses {
    fn from(rows: QueryResponse) -> Self {
        Response::Query(rows).into()
    }
}

impl From<ErrorInfo> for Responses {
    fn from(error: ErrorInfo) -> Self {
        Response::Error(error).into()
    }
}

impl From<Vec<Response>> for Responses {
    fn from(all: Vec<Response>) -> Self {
        Responses(Repr::Many(all))
    }
}

impl<const N: usize> From<[Response; N]> for Responses {
    fn from(all: [Response; N]) -> Self {
        all.into_iter().collect()
    }
}

impl From<Responses> for Vec<Response> {
    fn from(responses: Responses) -> Self {
        responses.into_vec()
    }
}

impl FromIterator<Response> for Responses {
    fn from_iter<I: IntoIterator<Item = Response>>(iter: I) -> Self {
        let mut responses = Responses::new();
        responses.extend(iter);
        responses
    }
}

impl Extend<Response> for Responses {
    fn extend<I: IntoIterator<Item = Response>>(&mut self, iter: I) {
        for response in iter {
            self.push(response);
        }
    }
}

impl IntoIterator for Responses {
    type Item = Response;
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(match self.0 {
            Repr::One(one) => IterRepr::One(Some(one)),
            Repr::Many(all) => IterRepr::Many(all.into_iter()),
        })
    }
}

impl<'a> IntoIterator for &'a Responses {
    type Item = &'a Response;
    type IntoIter = std::slice::Iter<'a, Response>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The responses of a [`Responses`], by value.
pub struct IntoIter(IterRepr);

enum IterRepr {
    One(Option<Response>),
    Many(std::vec::IntoIter<Response>),
}

impl Iterator for IntoIter {
    type Item = Response;

    #[inline]
    fn next(&mut self) -> Option<Response> {
        match &mut self.0 {
            IterRepr::One(one) => one.take(),
            IterRepr::Many(all) => all.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterRepr::One(one) => usize::from(one.is_some()),
            IterRepr::Many(all) => all.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for IntoIter {}

impl fmt::Debug for IntoIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Tag;

    fn tags(responses: Responses) -> Vec<String> {
        responses
            .into_iter()
            .map(|r| match r {
                Response::Execution(tag) => tag.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn responses_keep_their_order_however_they_are_built() {
        let exec = |t: &'static str| Response::Execution(Tag::new(t));
        assert!(Responses::new().is_empty());
        assert_eq!(tags(exec("A").into()), ["A"]);
        let mut pushed = Responses::new();
        for t in ["A", "B", "C"] {
            pushed.push(exec(t));
        }
        assert_eq!(pushed.len(), 3);
        assert_eq!(tags(pushed), ["A", "B", "C"]);
        assert_eq!(tags(vec![exec("A"), exec("B")].into()), ["A", "B"]);
        assert_eq!(tags([exec("A"), exec("B")].into()), ["A", "B"]);
        assert_eq!(tags(Vec::new().into()), Vec::<String>::new());
        let collected: Responses = ["A", "B"].into_iter().map(exec).collect();
        assert_eq!(Vec::from(collected).len(), 2);
        let mut iter = Responses::from(exec("A")).into_iter();
        assert_eq!(iter.len(), 1);
        assert!(iter.next().is_some());
        assert!(iter.next().is_none());
    }
}
