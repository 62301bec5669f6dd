//! The one event loop's machinery: a `mio::Poll`, the token codec, the timer wheel and the
//! monotonic clock. `wait` sleeps until the next fd event or the wheel's next deadline,
//! and forever when neither can come: no periodic tick.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token};

use crate::timer::{TimerId, Wheel};

/// A front-end's number, given when the loop registers it (at most `MAX_FRONTENDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontId(pub u8);

/// At most this many front-ends (protocols) share the loop.
pub const MAX_FRONTENDS: usize = 16;

/// What a front-end's fd or timer is about: its listening socket or one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Listener,
    Conn(usize),
}

/// Who an fd event is for. The owners never see each other's sources: the loop routes
/// `Signals` to itself, the core's three kinds to the core and `Front` to the front-end
/// with that id, which alone knows what its endpoint numbers mean.
///
/// Encoded in the `mio::Token` as `index << 7 | front << 3 | kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Signals,
    /// A child's stdout or stderr pipe (index into the core's pumps).
    Output(usize),
    /// A log file that pushed back, watched until it can take bytes (index into the sinks).
    Sink(usize),
    /// A health check's socket or pipe (index of the instance).
    Health(usize),
    Front(FrontId, Endpoint),
}

const KIND_BITS: u32 = 3;
const FRONT_BITS: u32 = 4;
const INDEX_SHIFT: u32 = KIND_BITS + FRONT_BITS;
const KIND_MASK: usize = (1 << KIND_BITS) - 1;
const FRONT_MASK: usize = (1 << FRONT_BITS) - 1;

impl Source {
    pub fn token(self) -> Token {
        let (index, front, kind) = match self {
            Source::Signals => (0, 0, 0),
            Source::Output(i) => (i, 0, 1),
            Source::Sink(i) => (i, 0, 2),
            Source::Health(i) => (i, 0, 3),
            Source::Front(FrontId(f), Endpoint::Listener) => (0, f, 4),
            Source::Front(FrontId(f), Endpoint::Conn(i)) => (i, f, 5),
        };
        Token(index << INDEX_SHIFT | (usize::from(front) & FRONT_MASK) << KIND_BITS | kind)
    }

    pub fn from_token(token: Token) -> Option<Source> {
        let index = token.0 >> INDEX_SHIFT;
        // FRONT_MASK keeps it below 16.
        let front = FrontId(((token.0 >> KIND_BITS) & FRONT_MASK) as u8);
        Some(match token.0 & KIND_MASK {
            0 => Source::Signals,
            1 => Source::Output(index),
            2 => Source::Sink(index),
            3 => Source::Health(index),
            4 => Source::Front(front, Endpoint::Listener),
            5 => Source::Front(front, Endpoint::Conn(index)),
            _ => return None,
        })
    }
}

/// What a timer is for; routed like `Source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKey {
    /// An instance's lifecycle deadline (startsecs, backoff, stopwaitsecs...).
    Instance(usize),
    /// An instance's next health check or the running check's timeout.
    Health(usize),
    Front(FrontId, Endpoint),
    Loop(LoopTimer),
}

/// The loop's own timers: shutdown and the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopTimer {
    ShutdownTimeout,
    ShutdownGrace,
    /// Shutdown waits for lingering groups, which send no SIGCHLD: look again.
    ShutdownRecheck,
    /// A state file write deferred to keep writes at most every `STATE_WRITE_GAP`.
    StateSave,
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
            Source::Output(0),
            Source::Output(12345),
            Source::Sink(77),
            Source::Health(3),
            Source::Front(FrontId(0), Endpoint::Listener),
            Source::Front(FrontId(15), Endpoint::Listener),
            Source::Front(FrontId(1), Endpoint::Conn(1 << 20)),
            Source::Front(FrontId(15), Endpoint::Conn(0)),
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
