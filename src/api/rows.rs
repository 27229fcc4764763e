//! Row sources: how a handler's rows reach the connection's write buffer.
//!
//! The server pulls rows from a [`RowSource`] only while the client keeps
//! up: each poll writes rows straight into the connection's buffer through
//! a [`RowSink`] until the sink reports it is full (the buffer passed its
//! high-water mark, or the Execute's row limit was reached); the server then
//! writes the buffer to the socket and polls again. Memory per connection
//! stays bounded however many rows there are, and no row is ever allocated
//! on its own.
//!
//! [`Rows`] wraps the common sources: an iterator, a stream, a batch of
//! pre-encoded rows, or your own [`RowSource`].

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;

use crate::error::ErrorInfo;
use crate::messages::FormatCodes;
use crate::types::{DataRowEncoder, EncodeRow, FieldInfo, FormatSettings, RowBatch};

/// Where a [`RowSource`] writes rows: the connection's write buffer, with
/// the columns and result formats of the current portal.
pub struct RowSink<'a> {
    buf: &'a mut BytesMut,
    fields: &'a [FieldInfo],
    formats: &'a FormatCodes,
    scratch: &'a mut BytesMut,
    rows: u64,
    limit: u64,
    high_water: usize,
    settings: &'a FormatSettings,
}

impl<'a> RowSink<'a> {
    /// A sink writing into `buf`, accepting at most `limit` rows and
    /// reporting full once `buf` holds `high_water` bytes.
    pub fn new(
        buf: &'a mut BytesMut,
        fields: &'a [FieldInfo],
        formats: &'a FormatCodes,
        scratch: &'a mut BytesMut,
        limit: u64,
        high_water: usize,
    ) -> Self {
        RowSink {
            buf,
            fields,
            formats,
            scratch,
            rows: 0,
            limit,
            high_water,
            settings: FormatSettings::default_ref(),
        }
    }

    /// Prints text-format values with the session's settings
    /// ([`crate::api::Session::format_settings`]) rather than PostgreSQL's
    /// defaults.
    pub fn with_format_settings(mut self, settings: &'a FormatSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The settings text-format values are printed with.
    pub fn format_settings(&self) -> &FormatSettings {
        self.settings
    }

    /// Whether the source should stop writing and return
    /// [`RowsProgress::More`].
    #[inline]
    pub fn is_full(&self) -> bool {
        self.rows >= self.limit || self.buf.len() >= self.high_water
    }

    /// Rows written through this sink.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// The result columns.
    pub fn fields(&self) -> &[FieldInfo] {
        self.fields
    }

    /// The result format codes (as sent in Bind; empty = all text).
    pub fn formats(&self) -> &FormatCodes {
        self.formats
    }

    /// Encodes and writes one row.
    #[inline]
    pub fn push<R: EncodeRow + ?Sized>(&mut self, row: &R) -> Result<(), ErrorInfo> {
        let mut enc = DataRowEncoder::new(self.buf, self.fields, self.formats, self.scratch)
            .with_format_settings(self.settings);
        row.encode_row(&mut enc)?;
        enc.finish()?;
        self.rows += 1;
        Ok(())
    }

    /// Starts a row to fill value by value. After
    /// [`DataRowEncoder::finish`] succeeds, call [`RowSink::commit_row`].
    pub fn encoder(&mut self) -> DataRowEncoder<'_> {
        DataRowEncoder::new(self.buf, self.fields, self.formats, self.scratch)
            .with_format_settings(self.settings)
    }

    /// Counts a row written through [`RowSink::encoder`].
    pub fn commit_row(&mut self) {
        self.rows += 1;
    }

    /// Copies pre-encoded DataRow frames from the front of `frames`,
    /// stopping when the sink is full; what was copied is removed from
    /// `frames`. Returns the number of rows copied.
    pub fn push_encoded(&mut self, frames: &mut Bytes) -> u64 {
        let mut copied = 0;
        let mut end = 0usize;
        let room = self.limit - self.rows;
        while copied < room && self.buf.len() + end < self.high_water {
            let Some(&[_, a, b, c, d]) = frames.get(end..end + 5) else {
                break;
            };
            let len = u32::from_be_bytes([a, b, c, d]) as usize;
            if frames.len() < end + 1 + len {
                break;
            }
            end += 1 + len;
            copied += 1;
        }
        self.buf.extend_from_slice(&frames[..end]);
        frames.advance(end);
        self.rows += copied;
        copied
    }
}

/// What a [`RowSource`] poll achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsProgress {
    /// The sink is full; more rows may follow.
    More,
    /// No rows remain.
    Done,
}

/// Something that produces rows on demand.
///
/// `poll_rows` writes rows into `sink` while `!sink.is_full()`, then
/// returns `Ready(Ok(More))`; `Ready(Ok(Done))` once exhausted (rows written
/// in the same call count); `Pending` when waiting for data (after
/// arranging a wake-up; rows written before count); `Ready(Err(e))` to fail
/// the query. It is not polled again after `Done` or an error.
pub trait RowSource: Send {
    /// Writes available rows into `sink`.
    fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>>;
}

enum RowsInner {
    Empty,
    Encoded(Bytes),
    Source(RecycledSource),
}

/// The rows of a [`QueryResponse`](super::QueryResponse).
pub struct Rows {
    inner: RowsInner,
    /// Settings the rows print text values with, if the handler chose
    /// them ([`Rows::with_format_settings`]).
    settings: Option<Box<FormatSettings>>,
}

impl fmt::Debug for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            RowsInner::Empty => f.write_str("Rows::Empty"),
            RowsInner::Encoded(b) => write!(f, "Rows::Encoded({} bytes)", b.len()),
            RowsInner::Source(_) => f.write_str("Rows::Source"),
        }
    }
}

impl Rows {
    /// No rows.
    pub fn empty() -> Self {
        Rows {
            inner: RowsInner::Empty,
            settings: None,
        }
    }

    /// Rows from an iterator of rows (tuples of `ToSql` values, or anything
    /// that implements [`EncodeRow`]), encoded as they are sent.
    pub fn from_iterator<I>(rows: I) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: EncodeRow + 'static,
    {
        Self::from_source(TryIterSource(rows.into_iter().map(Ok::<_, ErrorInfo>)))
    }

    /// Rows from an iterator that can fail; an error ends the query with
    /// that error after the rows before it.
    pub fn from_try_iterator<I, R>(rows: I) -> Self
    where
        I: IntoIterator<Item = Result<R, ErrorInfo>>,
        I::IntoIter: Send + 'static,
        R: EncodeRow,
    {
        Self::from_source(TryIterSource(rows.into_iter()))
    }

    /// Rows from an asynchronous stream.
    pub fn from_stream<S, R>(rows: S) -> Self
    where
        S: Stream<Item = Result<R, ErrorInfo>> + Send + 'static,
        R: EncodeRow + 'static,
    {
        Self::from_source(StreamSource(Box::pin(rows)))
    }

    /// Rows encoded ahead of time.
    pub fn from_batch(batch: RowBatch) -> Self {
        let (frames, _) = batch.into_encoded();
        Rows {
            inner: if frames.is_empty() {
                RowsInner::Empty
            } else {
                RowsInner::Encoded(frames)
            },
            settings: None,
        }
    }

    /// Rows arriving as a stream of pre-encoded batches (from a worker
    /// thread, for example).
    pub fn from_batches<S>(batches: S) -> Self
    where
        S: Stream<Item = Result<RowBatch, ErrorInfo>> + Send + 'static,
    {
        Self::from_source(BatchStreamSource {
            stream: Box::pin(batches),
            current: Bytes::new(),
        })
    }

    /// Rows from your own [`RowSource`].
    pub fn from_source<S: RowSource + 'static>(source: S) -> Self {
        Rows {
            inner: RowsInner::Source(RecycledSource::new(source)),
            settings: None,
        }
    }

    /// Prints these rows' text-format values with `settings` (usually
    /// `session.format_settings().clone()`): TimeZone, DateStyle,
    /// IntervalStyle, extra_float_digits, bytea_output. Pre-encoded rows
    /// ([`Rows::from_batch`]) keep the settings they were encoded with
    /// ([`RowBatch::with_format_settings`]).
    pub fn with_format_settings(mut self, settings: FormatSettings) -> Self {
        self.settings = Some(Box::new(settings));
        self
    }

    pub(crate) fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        match &mut self.inner {
            RowsInner::Empty => Poll::Ready(Ok(RowsProgress::Done)),
            RowsInner::Encoded(frames) => {
                sink.push_encoded(frames);
                Poll::Ready(Ok(if frames.is_empty() {
                    RowsProgress::Done
                } else {
                    RowsProgress::More
                }))
            }
            RowsInner::Source(RecycledSource(s)) => match self.settings.as_deref() {
                None => s.poll_rows(cx, sink),
                Some(settings) => {
                    let mut own = RowSink {
                        buf: &mut *sink.buf,
                        fields: sink.fields,
                        formats: sink.formats,
                        scratch: &mut *sink.scratch,
                        rows: sink.rows,
                        limit: sink.limit,
                        high_water: sink.high_water,
                        settings,
                    };
                    let polled = s.poll_rows(cx, &mut own);
                    sink.rows = own.rows;
                    polled
                }
            },
        }
    }
}

/// A row source in a box that is reused for the next source of the same
/// type, instead of being freed and allocated again.
///
/// Most queries answer with rows from a source of the same type as the
/// last one (the same iterator type in the same handler), and for a short
/// result, allocating and freeing its box costs more than writing its rows
/// (about 250 instructions of a one-row query, measured with callgrind).
/// Each thread keeps the last freed box, if it is small, for the next
/// source of that type. Reuse needs no unsafe code: the box holds an
/// `Option<S>`, emptied when the rows are done and filled again.
struct RecycledSource(Box<dyn SourceSlot>);

/// A boxed `Option<S>` holding a row source, seen without its type.
trait SourceSlot: RowSource {
    /// Drops the source, leaving the slot empty.
    fn clear(&mut self);
    /// The box as `Any`, to be recognised when reused.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<S: RowSource + 'static> SourceSlot for Option<S> {
    fn clear(&mut self) {
        *self = None;
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<S: RowSource> RowSource for Option<S> {
    #[inline]
    fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        match self {
            Some(source) => source.poll_rows(cx, sink),
            None => Poll::Ready(Ok(RowsProgress::Done)),
        }
    }
}

/// What a [`RecycledSource`] holds while it is being put away.
struct Vacant;

impl RowSource for Vacant {
    fn poll_rows(
        &mut self,
        _: &mut Context<'_>,
        _: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        Poll::Ready(Ok(RowsProgress::Done))
    }
}

impl SourceSlot for Vacant {
    fn clear(&mut self) {}

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Boxes larger than this are freed rather than kept for reuse.
const RECYCLED_MAX: usize = 256;

thread_local! {
    /// The box of the last small row source dropped on this thread, empty.
    static SPARE_SOURCE: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
}

impl RecycledSource {
    fn new<S: RowSource + 'static>(source: S) -> Self {
        if size_of::<Option<S>>() <= RECYCLED_MAX {
            // `try_with`: during thread teardown, just allocate.
            if let Ok(Some(spare)) = SPARE_SOURCE.try_with(Cell::take) {
                match spare.downcast::<Option<S>>() {
                    Ok(mut slot) => {
                        *slot = Some(source);
                        return RecycledSource(slot);
                    }
                    Err(other) => {
                        let _ = SPARE_SOURCE.try_with(|spare| spare.set(Some(other)));
                    }
                }
            }
        }
        RecycledSource(Box::new(Some(source)))
    }
}

impl Drop for RecycledSource {
    fn drop(&mut self) {
        if size_of_val(&*self.0) > RECYCLED_MAX {
            return;
        }
        self.0.clear();
        // `Vacant` is zero-sized: boxing it allocates nothing.
        let slot = std::mem::replace(&mut self.0, Box::new(Vacant));
        let _ = SPARE_SOURCE.try_with(|spare| spare.set(Some(slot.into_any())));
    }
}

struct TryIterSource<I>(I);

impl<I, R> RowSource for TryIterSource<I>
where
    I: Iterator<Item = Result<R, ErrorInfo>> + Send,
    R: EncodeRow,
{
    fn poll_rows(
        &mut self,
        _cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        while !sink.is_full() {
            match self.0.next() {
                Some(Ok(row)) => {
                    if let Err(e) = sink.push(&row) {
                        return Poll::Ready(Err(e));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(RowsProgress::Done)),
            }
        }
        Poll::Ready(Ok(RowsProgress::More))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

struct StreamSource<R>(BoxStream<Result<R, ErrorInfo>>);

impl<R: EncodeRow> RowSource for StreamSource<R> {
    fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        while !sink.is_full() {
            match self.0.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => {
                    if let Err(e) = sink.push(&row) {
                        return Poll::Ready(Err(e));
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(RowsProgress::Done)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(RowsProgress::More))
    }
}

struct BatchStreamSource {
    stream: BoxStream<Result<RowBatch, ErrorInfo>>,
    current: Bytes,
}

impl RowSource for BatchStreamSource {
    fn poll_rows(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut RowSink<'_>,
    ) -> Poll<Result<RowsProgress, ErrorInfo>> {
        loop {
            if !self.current.is_empty() {
                sink.push_encoded(&mut self.current);
                if !self.current.is_empty() || sink.is_full() {
                    return Poll::Ready(Ok(RowsProgress::More));
                }
            }
            match self.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(batch))) => self.current = batch.into_encoded().0,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(RowsProgress::Done)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    /// Text values of the first column of the rows `rows` writes.
    fn texts(rows: &mut Rows, fields: &[FieldInfo]) -> Vec<String> {
        let mut buf = BytesMut::new();
        let mut scratch = BytesMut::new();
        let formats = FormatCodes::new();
        let mut sink = RowSink::new(&mut buf, fields, &formats, &mut scratch, u64::MAX, 1 << 20);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let polled = rows.poll_rows(&mut cx, &mut sink);
        assert!(matches!(polled, Poll::Ready(Ok(RowsProgress::Done))));
        assert_eq!(sink.rows_written(), 1);
        // One DataRow: 'D', length, column count, then length and value.
        let len = u32::from_be_bytes([buf[7], buf[8], buf[9], buf[10]]) as usize;
        vec![String::from_utf8(buf[11..11 + len].to_vec()).unwrap()]
    }

    /// Where the box of a source lives.
    fn source_address(rows: &Rows) -> *const () {
        match &rows.inner {
            RowsInner::Source(RecycledSource(b)) => (&**b as *const dyn SourceSlot).cast(),
            _ => panic!("not a source"),
        }
    }

    #[test]
    fn a_source_box_is_reused_for_the_next_source_of_its_type() {
        let fields = [FieldInfo::new("n", Type::INT4)];
        let first = Rows::from_iterator([(1i32,)]);
        let at = source_address(&first);
        drop(first);
        // Another type in between takes a box of its own...
        let mut other = Rows::from_iterator(vec![("x".to_owned(),)]);
        assert_ne!(source_address(&other), at);
        assert_eq!(texts(&mut other, &[FieldInfo::new("t", Type::TEXT)]), ["x"]);
        // ...and a source of the first type, built while the first box
        // is spare, gets that box with its own rows in it.
        let mut again = Rows::from_iterator([(2i32,)]);
        assert_eq!(source_address(&again), at);
        assert_eq!(texts(&mut again, &fields), ["2"]);
        drop(other);
        // A source dropped before it was polled to its end is emptied too:
        // the next one starts from its own rows.
        drop(again);
        let mut third = Rows::from_iterator([(3i32,)]);
        assert_eq!(texts(&mut third, &fields), ["3"]);
    }

    #[test]
    fn rows_print_with_the_settings_they_were_given() {
        let fields = [FieldInfo::new("t", Type::TIMESTAMPTZ)];
        // 2024-01-01 12:00:00 UTC.
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_110_400);
        let mut plain = Rows::from_iterator([(at,)]);
        assert_eq!(texts(&mut plain, &fields), ["2024-01-01 12:00:00+00"]);
        let mut berlin = FormatSettings::default();
        berlin.set("TimeZone", "Europe/Berlin").unwrap();
        berlin.set("DateStyle", "German").unwrap();
        let mut styled = Rows::from_iterator([(at,)]).with_format_settings(berlin);
        assert_eq!(texts(&mut styled, &fields), ["01.01.2024 13:00:00 CET"]);
    }
}
