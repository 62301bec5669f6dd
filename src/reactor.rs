//! The one event loop's machinery: a `mio::Poll`, the token codec, the timer wheel and the
//! monotonic clock. `wait` sleeps until the next fd event or the wheel's next deadline,
//! and forever when neither can come: no periodic tick.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token};

use crate::timer::{TimerId, Wheel};

/// What an fd event is about. Encoded in the `mio::Token` as `index << 3 | kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Signals,
    Listener,
    /// A child's stdout or stderr pipe (index into the pumps).
    Output(usize),
    /// A log file that pushed back, watched until it can take bytes (index into the sinks).
    Sink(usize),
    /// An RPC connection (index into the connections).
    Client(usize),
    /// A health check's socket or pipe (index of the instance).
    Health(usize),
}

const KIND_BITS: u32 = 3;
const KIND_MASK: usize = (1 << KIND_BITS) - 1;

impl Source {
    pub fn token(self) -> Token {
        let (index, kind) = match self {
            Source::Signals => (0, 0),
            Source::Listener => (0, 1),
            Source::Output(i) => (i, 2),
            Source::Sink(i) => (i, 3),
            Source::Client(i) => (i, 4),
            Source::Health(i) => (i, 5),
        };
        Token(index << KIND_BITS | kind)
    }

    pub fn from_token(token: Token) -> Option<Source> {
        let index = token.0 >> KIND_BITS;
        Some(match token.0 & KIND_MASK {
            0 => Source::Signals,
            1 => Source::Listener,
            2 => Source::Output(index),
            3 => Source::Sink(index),
            4 => Source::Client(index),
            5 => Source::Health(index),
            _ => return None,
        })
    }
}

pub struct Reactor<K> {
    poll: Poll,
    wheel: Wheel<K>,
    origin: Instant,
}

impl<K> Reactor<K> {
    pub fn new() -> io::Result<Self> {
        Ok(Reactor {
            poll: Poll::new()?,
            wheel: Wheel::new(0),
            origin: Instant::now(),
        })
    }

    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Milliseconds on the monotonic clock since the reactor was made.
    pub fn now(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    pub fn arm_at(&mut self, deadline: u64, key: K) -> TimerId {
        self.wheel.insert(deadline, key)
    }

    pub fn arm_in(&mut self, delay: Duration, key: K) -> TimerId {
        let delay = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let deadline = self.now().saturating_add(delay);
        self.wheel.insert(deadline, key)
    }

    pub fn disarm(&mut self, id: TimerId) -> Option<K> {
        self.wheel.cancel(id)
    }

    /// Blocks until an fd is ready or the next timer is due. With `busy`, only collects
    /// what is ready now (there is queued work to get back to).
    pub fn wait(&mut self, events: &mut Events, busy: bool) -> io::Result<()> {
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.wheel.next_deadline().map(|deadline| {
                let at = self.origin + Duration::from_millis(deadline);
                at.saturating_duration_since(Instant::now())
            })
        };
        match self.poll.poll(events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.clear();
                Ok(())
            }
            other => other,
        }
    }

    /// Pops one due timer; call until `None`.
    pub fn expired(&mut self) -> Option<K> {
        let now = self.now();
        self.wheel.poll(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for source in [
            Source::Signals,
            Source::Listener,
            Source::Output(0),
            Source::Output(12345),
            Source::Sink(77),
            Source::Client(1 << 20),
            Source::Health(3),
        ] {
            assert_eq!(Source::from_token(source.token()), Some(source));
        }
        assert_eq!(Source::from_token(Token(7)), None);
    }

    #[test]
    fn wait_sleeps_until_the_timer() -> io::Result<()> {
        let mut reactor: Reactor<u8> = Reactor::new()?;
        let mut events = Events::with_capacity(4);
        reactor.arm_in(Duration::from_millis(30), 1);
        let start = Instant::now();
        let mut fired = None;
        while fired.is_none() {
            reactor.wait(&mut events, false)?;
            fired = reactor.expired();
        }
        assert_eq!(fired, Some(1));
        assert!(start.elapsed() >= Duration::from_millis(30));
        Ok(())
    }
}
