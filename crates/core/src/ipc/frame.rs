//! Resumable frame decoders for both serialization modes.
//!
//! * json: UTF-8 text terminated by one `\n` (docs/PROTOCOL.md §2.2).
//! * advanced: a 4-byte big-endian length, then that many bytes of V8 serializer output (§2.3).
//!
//! Both accept input in chunks of any size, hand out every complete frame in order, and keep the
//! unterminated tail. A frame longer than the configured limit is an error, so a hostile peer
//! cannot make the buffer grow without bound.

use std::borrow::Cow;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Json,
    Advanced,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Json => "json",
            Mode::Advanced => "advanced",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// More than `limit` bytes arrived without completing a frame.
    TooLong { limit: usize },
    /// An advanced frame announced a length of zero (Node's reader throws on it).
    ZeroLength,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLong { limit } => write!(f, "frame exceeds the limit of {limit} bytes"),
            FrameError::ZeroLength => write!(f, "advanced frame with zero length"),
        }
    }
}

pub struct Decoder {
    mode: Mode,
    max: usize,
    /// Bytes of an incomplete frame.
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new(mode: Mode, max: usize) -> Self {
        Decoder {
            mode,
            max: max.max(1),
            buf: Vec::new(),
        }
    }

    /// True while part of a frame is held (Node calls this "buffering").
    #[cfg(test)]
    pub fn is_buffering(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Feeds one chunk; complete frames are appended to `out`: json lines without their `\n`,
    /// advanced frames with their length prefix. A frame that lies wholly in `data` is lent out
    /// of it, so the reader copies it once (into the run it builds); only a frame completed
    /// from held bytes is owned.
    /// After an error the decoder must not be used again.
    pub fn push<'a>(
        &mut self,
        data: &'a [u8],
        out: &mut Vec<Cow<'a, [u8]>>,
    ) -> Result<(), FrameError> {
        match self.mode {
            Mode::Json => self.push_json(data, out),
            Mode::Advanced => self.push_advanced(data, out),
        }
    }

    fn push_json<'a>(
        &mut self,
        mut data: &'a [u8],
        out: &mut Vec<Cow<'a, [u8]>>,
    ) -> Result<(), FrameError> {
        if !self.buf.is_empty() {
            // Finish the held frame first: look for its end in the new data only.
            match memchr::memchr(b'\n', data) {
                None => {
                    if self.buf.len() + data.len() > self.max {
                        return Err(FrameError::TooLong { limit: self.max });
                    }
                    self.buf.extend_from_slice(data);
                    return Ok(());
                }
                Some(pos) => {
                    if self.buf.len() + pos > self.max {
                        return Err(FrameError::TooLong { limit: self.max });
                    }
                    self.buf.extend_from_slice(&data[..pos]);
                    out.push(Cow::Owned(std::mem::take(&mut self.buf)));
                    data = &data[pos + 1..];
                }
            }
        }
        // The held buffer is empty: cut complete lines straight out of `data`.
        while let Some(pos) = memchr::memchr(b'\n', data) {
            if pos > self.max {
                return Err(FrameError::TooLong { limit: self.max });
            }
            out.push(Cow::Borrowed(&data[..pos]));
            data = &data[pos + 1..];
        }
        if data.len() > self.max {
            return Err(FrameError::TooLong { limit: self.max });
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The body length an advanced header announces, checked against the limit.
    fn advanced_len(&self, header: &[u8]) -> Result<usize, FrameError> {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len == 0 {
            return Err(FrameError::ZeroLength);
        }
        if len > self.max {
            return Err(FrameError::TooLong { limit: self.max });
        }
        Ok(len)
    }

    /// Advanced frames keep their 4-byte length prefix: a run of them is then the wire bytes
    /// again, which is how JS receives a run (and one frame needs no copy to drop its header).
    fn push_advanced<'a>(
        &mut self,
        mut data: &'a [u8],
        out: &mut Vec<Cow<'a, [u8]>>,
    ) -> Result<(), FrameError> {
        if !self.buf.is_empty() {
            // Finish the held frame from the front of `data` only.
            if self.buf.len() < 4 {
                let take = (4 - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.buf.len() < 4 {
                    return Ok(());
                }
            }
            let total = 4 + self.advanced_len(&self.buf[..4])?;
            let take = (total - self.buf.len()).min(data.len());
            // Reserve the whole frame once so a large message does not grow by doubling.
            self.buf.reserve_exact(total - self.buf.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() < total {
                return Ok(());
            }
            out.push(Cow::Owned(std::mem::take(&mut self.buf)));
        }
        // Nothing held: cut complete frames straight out of `data`.
        while data.len() >= 4 {
            let total = 4 + self.advanced_len(&data[..4])?;
            if data.len() < total {
                self.buf.reserve_exact(total);
                break;
            }
            out.push(Cow::Borrowed(&data[..total]));
            data = &data[total..];
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// The most a Node peer sends: V8's maximum string length (the host's default cap).
    const DEFAULT_MAX_FRAME: usize = 536_870_888;
    use super::*;

    /// `Decoder::push`, with the frames made owned so they outlive `data`.
    fn push_owned(
        dec: &mut Decoder,
        data: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), FrameError> {
        let mut lent = Vec::new();
        let res = dec.push(data, &mut lent);
        out.extend(lent.into_iter().map(Cow::into_owned));
        res
    }

    fn feed(dec: &mut Decoder, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in chunks {
            push_owned(dec, c, &mut out).expect("decode");
        }
        out
    }

    #[test]
    fn json_many_messages_in_one_read() {
        let mut d = Decoder::new(Mode::Json, DEFAULT_MAX_FRAME);
        let out = feed(&mut d, &[b"{\"a\":1}\n\"x\"\n42\n"]);
        assert_eq!(
            out,
            vec![b"{\"a\":1}".to_vec(), b"\"x\"".to_vec(), b"42".to_vec()]
        );
        assert!(!d.is_buffering());
    }

    #[test]
    fn json_split_reads_and_partial_tail() {
        let mut d = Decoder::new(Mode::Json, DEFAULT_MAX_FRAME);
        let out = feed(
            &mut d,
            &[b"{\"cmd\":\"NO", b"DE_CLUSTER\"}\n{\"b\"", b":2}"],
        );
        assert_eq!(out, vec![b"{\"cmd\":\"NODE_CLUSTER\"}".to_vec()]);
        assert!(d.is_buffering());
        let out = feed(&mut d, &[b"\n"]);
        assert_eq!(out, vec![b"{\"b\":2}".to_vec()]);
        assert!(!d.is_buffering());
    }

    #[test]
    fn json_utf8_split_across_reads() {
        let text = "\"h\u{e9}llo \u{2713} \u{2028}\"".as_bytes().to_vec();
        let mut d = Decoder::new(Mode::Json, DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        for b in &text {
            push_owned(&mut d, &[*b], &mut out).expect("decode");
        }
        push_owned(&mut d, b"\n", &mut out).expect("decode");
        assert_eq!(out, vec![text.clone()]);
        assert_eq!(
            std::str::from_utf8(&out[0]).ok(),
            Some("\"h\u{e9}llo \u{2713} \u{2028}\"")
        );
    }

    #[test]
    fn json_one_mib_message_in_64k_chunks() {
        let mut msg = vec![b'"'];
        msg.extend(std::iter::repeat_n(b'x', 1 << 20));
        msg.extend_from_slice(b"\"\n");
        let mut d = Decoder::new(Mode::Json, DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        for chunk in msg.chunks(65536) {
            push_owned(&mut d, chunk, &mut out).expect("decode");
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), (1 << 20) + 2);
    }

    #[test]
    fn json_blank_line_is_an_empty_frame() {
        let mut d = Decoder::new(Mode::Json, DEFAULT_MAX_FRAME);
        let out = feed(&mut d, &[b"\n1\n"]);
        assert_eq!(out, vec![Vec::new(), b"1".to_vec()]);
    }

    #[test]
    fn json_limit_is_enforced_without_newline() {
        let mut d = Decoder::new(Mode::Json, 16);
        let mut out = Vec::new();
        push_owned(&mut d, b"0123456789", &mut out).expect("under the limit");
        assert_eq!(
            push_owned(&mut d, b"0123456789", &mut out),
            Err(FrameError::TooLong { limit: 16 })
        );
        let mut d = Decoder::new(Mode::Json, 4);
        assert_eq!(
            push_owned(&mut d, b"123456\n", &mut out),
            Err(FrameError::TooLong { limit: 4 })
        );
    }

    #[test]
    fn advanced_split_header_and_body() {
        let body = [0xff, 0x0f, 0x49, 0x02];
        let mut wire = (body.len() as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(&body);
        wire.extend_from_slice(&wire.clone());
        let mut d = Decoder::new(Mode::Advanced, DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        for b in &wire {
            push_owned(&mut d, &[*b], &mut out).expect("decode");
        }
        let frame = wire[..8].to_vec();
        assert_eq!(out, vec![frame.clone(), frame]);
        assert!(!d.is_buffering());
    }

    #[test]
    fn advanced_zero_length_and_oversize() {
        let mut d = Decoder::new(Mode::Advanced, DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        assert_eq!(
            push_owned(&mut d, &[0, 0, 0, 0], &mut out),
            Err(FrameError::ZeroLength)
        );
        let mut d = Decoder::new(Mode::Advanced, 100);
        assert_eq!(
            push_owned(&mut d, &[0, 0, 1, 0], &mut out),
            Err(FrameError::TooLong { limit: 100 })
        );
    }

    #[test]
    fn advanced_many_frames_in_one_read() {
        let mut wire = Vec::new();
        for i in 0..5u8 {
            wire.extend_from_slice(&3u32.to_be_bytes());
            wire.extend_from_slice(&[0xff, 0x0f, i]);
        }
        let mut d = Decoder::new(Mode::Advanced, DEFAULT_MAX_FRAME);
        let out = feed(&mut d, &[&wire]);
        assert_eq!(out.len(), 5);
        assert_eq!(out[4], vec![0, 0, 0, 3, 0xff, 0x0f, 4]);
        assert_eq!(
            out.concat(),
            wire,
            "frames keep their prefix: a run is the wire bytes"
        );
    }

    #[test]
    fn advanced_any_chunking_gives_the_same_frames() {
        let mut wire = Vec::new();
        let mut frames = Vec::new();
        for (i, len) in [1usize, 7, 300, 2, 4096, 5].into_iter().enumerate() {
            let mut f = (len as u32).to_be_bytes().to_vec();
            f.extend((0..len).map(|k| (k + i) as u8));
            wire.extend_from_slice(&f);
            frames.push(f);
        }
        for chunk in 1..=wire.len() {
            let mut d = Decoder::new(Mode::Advanced, DEFAULT_MAX_FRAME);
            let pieces: Vec<&[u8]> = wire.chunks(chunk).collect();
            assert_eq!(feed(&mut d, &pieces), frames, "chunks of {chunk}");
            assert!(!d.is_buffering());
        }
    }

    #[test]
    fn advanced_bad_header_completed_across_reads() {
        let mut out = Vec::new();
        let mut d = Decoder::new(Mode::Advanced, DEFAULT_MAX_FRAME);
        push_owned(&mut d, &[0, 0, 0, 1, 9, 0, 0], &mut out).expect("first frame");
        assert_eq!(
            push_owned(&mut d, &[0, 0], &mut out),
            Err(FrameError::ZeroLength)
        );
        let mut d = Decoder::new(Mode::Advanced, 100);
        push_owned(&mut d, &[0], &mut out).expect("partial header");
        assert_eq!(
            push_owned(&mut d, &[0, 1, 0, 7], &mut out),
            Err(FrameError::TooLong { limit: 100 })
        );
    }
}
