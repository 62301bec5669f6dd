//! `[supervisord] strip_ansi`: ANSI escape sequences taken out of a child's output before
//! it reaches its log file or syslog.
//!
//! supervisord's rule: a sequence starts at `ESC [` and ends with the first byte of
//! `HfABCDRsuJKhlpm`, which is dropped with it; an `ESC` not followed by `[` stays. It
//! applies the rule to each chunk it reads on its own, so a sequence cut in two by a read
//! leaves its tail in the log. This stripper carries its state from one chunk to the
//! next, so where the reads fall does not change what is written.

/// The bytes that end a sequence, as supervisord lists them.
const TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";
const ESC: u8 = 0x1b;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// An `ESC` was the last byte seen; `[` makes it a sequence.
    Escape,
    /// Inside a sequence, until a terminator.
    Sequence,
}

/// Strips one stream, chunk after chunk.
#[derive(Debug, Default, Clone)]
pub struct Stripper {
    state: State,
}

impl Stripper {
    /// Appends `data` without its escape sequences to `out`. An `ESC` at the end of
    /// `data` is held until the next chunk says whether it starts a sequence.
    pub fn strip(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        for (i, &b) in data.iter().enumerate() {
            match self.state {
                State::Text => {
                    if b == ESC {
                        out.extend_from_slice(&data[start..i]);
                        self.state = State::Escape;
                    }
                }
                State::Escape => {
                    if b == b'[' {
                        self.state = State::Sequence;
                    } else {
                        // A lone ESC is text: it and what follows are kept.
                        out.push(ESC);
                        start = i;
                        self.state = State::Text;
                        if b == ESC {
                            self.state = State::Escape;
                            start = i + 1;
                        }
                    }
                }
                State::Sequence => {
                    if TERMINATORS.contains(&b) {
                        self.state = State::Text;
                        start = i + 1;
                    }
                }
            }
        }
        if self.state == State::Text {
            out.extend_from_slice(&data[start..]);
        }
    }

    /// At the end of the stream: a held `ESC` is text after all.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state == State::Escape {
            out.push(ESC);
        }
        self.state = State::Text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut stripper = Stripper::default();
        let mut out = Vec::new();
        for chunk in chunks {
            stripper.strip(chunk, &mut out);
        }
        stripper.finish(&mut out);
        out
    }

    /// supervisord's `stripEscapes` on a whole chunk, written out from its description.
    fn supervisord_rule(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(b"\x1b[") {
                i += 2;
                while i < s.len() && !TERMINATORS.contains(&s[i]) {
                    i += 1;
                }
                i += 1;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn colour_and_cursor_sequences_are_dropped_with_their_terminator() {
        let input = b"\x1b[1;31mERROR\x1b[0m disk \x1b[2Kfull\x1b[10;20H!";
        assert_eq!(strip_chunks(&[input]), b"ERROR disk full!");
        assert_eq!(strip_chunks(&[input]), supervisord_rule(input));
    }

    #[test]
    fn a_lone_escape_and_unterminated_text_follow_supervisords_rule() {
        for input in [
            &b"a\x1bb"[..],
            b"\x1b\x1b[mx",
            b"tail \x1b[12",
            b"\x1b",
            b"x\x1b[?25lhidden cursor",
            b"\x1b[31xm rest",
        ] {
            assert_eq!(strip_chunks(&[input]), supervisord_rule(input), "{input:?}");
        }
    }

    #[test]
    fn where_the_reads_split_a_sequence_does_not_matter() {
        let input = b"one \x1b[1;32mgreen\x1b[0m two \x1b\x1b[Kthree\x1bx";
        let whole = strip_chunks(&[input]);
        assert_eq!(whole, supervisord_rule(input));
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(strip_chunks(&[a, b]), whole, "cut at {cut}");
        }
    }
}
