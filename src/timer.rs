//! A hierarchical timer wheel with millisecond resolution.
//!
//! Every wait in the daemon is a deadline here: startsecs, backoff, stopwaitsecs, health
//! intervals, RPC deadlines, shutdown_timeout. Insert and cancel are O(1); the wheel
//! reports its exact next deadline so the event loop can sleep in `poll()` until then,
//! and forever when the wheel is empty (no periodic tick).
//!
//! Six levels of 64 slots: level L slots are 64^L ms wide, so the wheel spans 64^6 ms
//! (about 795 days); later deadlines wait in the top level and are re-placed when their
//! slot comes round. Entries live in a slab and are linked into their slot, so a cancel
//! unlinks at once and slot occupancy (one bit per slot) is always exact.
//!
//! Time is a plain `u64` of milliseconds from an origin the caller chooses, which keeps the
//! wheel (and everything that schedules through it) testable without a clock.

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const BITS: u32 = 6;
const NIL: u32 = u32::MAX;
/// `level` of an entry that has expired and waits in the due list to be popped.
const DUE: u8 = u8::MAX;

/// Names one armed timer. Stale ids (fired or cancelled) are recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId {
    index: u32,
    generation: u32,
}

struct Entry<T> {
    deadline: u64,
    generation: u32,
    prev: u32,
    next: u32,
    level: u8,
    slot: u8,
    payload: Option<T>,
}

pub struct Wheel<T> {
    /// Every deadline ≤ `now` has been moved to the due list.
    now: u64,
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    heads: [[u32; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
    due: u32,
    len: usize,
    /// The next deadline, when known to be current.
    next: Option<Option<u64>>,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new(0)
    }
}

impl<T> Wheel<T> {
    pub fn new(now: u64) -> Self {
        Wheel {
            now,
            entries: Vec::new(),
            free: Vec::new(),
            heads: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            due: NIL,
            len: 0,
            next: Some(None),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Arms a timer for `deadline`. A deadline already past fires at the next `poll`.
    pub fn insert(&mut self, deadline: u64, payload: T) -> TimerId {
        let deadline = deadline.max(self.now.saturating_add(1));
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    deadline: 0,
                    generation: 0,
                    prev: NIL,
                    next: NIL,
                    level: 0,
                    slot: 0,
                    payload: None,
                });
                (self.entries.len() - 1) as u32
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.deadline = deadline;
        entry.payload = Some(payload);
        let generation = entry.generation;
        self.place(index);
        self.len += 1;
        if let Some(Some(next)) = self.next {
            self.next = Some(Some(next.min(deadline)));
        } else if self.next == Some(None) {
            self.next = Some(Some(deadline));
        }
        TimerId { index, generation }
    }

    /// Disarms a timer; returns its payload if it had not fired yet.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let entry = self.entries.get(id.index as usize)?;
        if entry.generation != id.generation || entry.payload.is_none() {
            return None;
        }
        let deadline = entry.deadline;
        self.unlink(id.index);
        if self.next == Some(Some(deadline)) {
            self.next = None;
        }
        Some(self.release(id.index))
    }

    /// The earliest armed deadline, exact; `None` when nothing is armed.
    pub fn next_deadline(&mut self) -> Option<u64> {
        if let Some(next) = self.next {
            return next;
        }
        let next = self.compute_next();
        self.next = Some(next);
        next
    }

    /// Pops one timer whose deadline is ≤ `now`, advancing the wheel as needed. Call until
    /// it returns `None`; timers cancelled in between are never returned.
    pub fn poll(&mut self, now: u64) -> Option<T> {
        loop {
            if self.due != NIL {
                let index = self.due;
                self.unlink(index);
                self.next = None;
                return Some(self.release(index));
            }
            match self.earliest_slot() {
                Some((level, slot, start)) if start <= now => {
                    self.now = self.now.max(start);
                    self.expire_slot(level, slot, now);
                }
                _ => {
                    self.now = self.now.max(now);
                    // A cached deadline at or before `now` that produced nothing was a
                    // lower bound (a far timer's slot start): recompute it, or the caller
                    // would be told to wake at once, forever.
                    if matches!(self.next, Some(Some(next)) if next <= now) {
                        self.next = None;
                    }
                    return None;
                }
            }
        }
    }

    /// Moves a slot's due entries to the due list and re-places the others lower down.
    fn expire_slot(&mut self, level: usize, slot: usize, now: u64) {
        let mut index = self.heads[level][slot];
        self.heads[level][slot] = NIL;
        self.occupied[level] &= !(1 << slot);
        while index != NIL {
            let next = self.entries[index as usize].next;
            if self.entries[index as usize].deadline <= now {
                self.push(index, DUE, 0);
            } else {
                self.place(index);
            }
            index = next;
        }
        self.next = None;
    }

    /// Links an entry into the slot its deadline belongs to, relative to `now`: the level
    /// of the highest bit where deadline and now differ. When they differ above the wheel's
    /// bits (the deadline lies in a later top-level rotation) the entry waits in the top
    /// level: in its own slot when that slot comes round before the deadline and is not
    /// the current one, else in the slot just behind the current one, a full rotation
    /// away. Either way the slot starts after `now` and no later than the deadline, and
    /// the entry is placed again from there.
    fn place(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let masked = (deadline ^ self.now) | (SLOTS as u64 - 1);
        let level = ((63 - masked.leading_zeros()) / BITS) as usize;
        let (level, slot) = if level < LEVELS {
            let slot = (deadline >> (BITS * level as u32)) as usize & (SLOTS - 1);
            (level, slot)
        } else {
            let top = LEVELS - 1;
            let shift = BITS * top as u32;
            let pos = (self.now >> shift) as usize & (SLOTS - 1);
            let own = (deadline >> shift) as usize & (SLOTS - 1);
            let span = 1u64 << (shift + BITS);
            if own != pos && deadline - self.now < span {
                (top, own)
            } else {
                (top, (pos + SLOTS - 1) & (SLOTS - 1))
            }
        };
        self.push(index, level as u8, slot as u8);
    }

    fn push(&mut self, index: u32, level: u8, slot: u8) {
        let head = if level == DUE {
            &mut self.due
        } else {
            self.occupied[level as usize] |= 1 << slot;
            &mut self.heads[level as usize][slot as usize]
        };
        let old = *head;
        *head = index;
        if old != NIL {
            self.entries[old as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = old;
        entry.level = level;
        entry.slot = slot;
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next, level, slot) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.level, e.slot)
        };
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else if level == DUE {
            self.due = next;
        } else {
            self.heads[level as usize][slot as usize] = next;
            if next == NIL {
                self.occupied[level as usize] &= !(1 << slot);
            }
        }
    }

    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.prev = NIL;
        entry.next = NIL;
        self.free.push(index);
        self.len -= 1;
        // ok: an entry is linked into a slot or the due list only while it holds a payload.
        entry.payload.take().expect("linked entries hold a payload")
    }

    /// The first occupied slot in time order: (level, slot, start time).
    fn earliest_slot(&self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for level in 0..LEVELS {
            let Some((slot, start)) = self.first_slot(level) else {
                continue;
            };
            if best.is_none_or(|(_, _, s)| start < s) {
                best = Some((level, slot, start));
            }
        }
        best
    }

    /// The level's first occupied slot from the current position on, and when it starts.
    /// The current slot itself is only occupied when another level's slot started at the
    /// same instant; it is due at once.
    fn first_slot(&self, level: usize) -> Option<(usize, u64)> {
        let occupied = self.occupied[level];
        if occupied == 0 {
            return None;
        }
        let shift = BITS * level as u32;
        let pos = (self.now >> shift) as usize & (SLOTS - 1);
        let offset = occupied.rotate_right(pos as u32).trailing_zeros() as usize;
        let slot = (pos + offset) & (SLOTS - 1);
        let rotation = 1u64 << (shift + BITS);
        let base = self.now & !(rotation - 1);
        let mut start = base + ((slot as u64) << shift);
        if slot < pos {
            // Only the top level holds slots behind the current one, and only for
            // deadlines in a later rotation, which cannot exist in the last one of u64.
            start = start.saturating_add(rotation);
        }
        Some((slot, start))
    }

    fn compute_next(&self) -> Option<u64> {
        if self.due != NIL {
            return Some(self.now);
        }
        let mut best: Option<u64> = None;
        for level in 0..LEVELS - 1 {
            let Some((slot, start)) = self.first_slot(level) else {
                continue;
            };
            // Below the top, slots at a level cover disjoint ranges in time order, so
            // the first occupied one holds the level's earliest deadline; level 0 slots
            // are one millisecond wide.
            let candidate = if level == 0 {
                start
            } else {
                self.slot_min(level, slot)
            };
            best = Some(best.map_or(candidate, |b| b.min(candidate)));
        }
        // The top level holds deadlines from later rotations too, in no time order:
        // look at every occupied slot. Only timers days away live there.
        let top = LEVELS - 1;
        let mut occupied = self.occupied[top];
        while occupied != 0 {
            let slot = occupied.trailing_zeros() as usize;
            occupied &= occupied - 1;
            let candidate = self.slot_min(top, slot);
            best = Some(best.map_or(candidate, |b| b.min(candidate)));
        }
        best
    }

    fn slot_min(&self, level: usize, slot: usize) -> u64 {
        let mut index = self.heads[level][slot];
        let mut min = u64::MAX;
        while index != NIL {
            let e = &self.entries[index as usize];
            min = min.min(e.deadline);
            index = e.next;
        }
        min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pops everything due at `now`, in the order the wheel gives.
    fn drain(wheel: &mut Wheel<u32>, now: u64) -> Vec<u32> {
        std::iter::from_fn(|| wheel.poll(now)).collect()
    }

    #[test]
    fn empty_wheel_has_no_deadline() {
        let mut wheel: Wheel<u32> = Wheel::new(0);
        assert_eq!(wheel.next_deadline(), None);
        assert_eq!(wheel.poll(1_000_000), None);
    }

    #[test]
    fn fires_at_deadline_not_before() {
        let mut wheel = Wheel::new(0);
        wheel.insert(1500, 7);
        assert_eq!(wheel.next_deadline(), Some(1500));
        assert!(drain(&mut wheel, 1499).is_empty());
        assert_eq!(drain(&mut wheel, 1500), vec![7]);
        assert_eq!(wheel.next_deadline(), None);
        assert!(wheel.is_empty());
    }

    #[test]
    fn next_deadline_is_exact_on_every_level() {
        for deadline in [
            1u64,
            63,
            64,
            65,
            4095,
            4097,
            262_143,
            300_000,
            16_777_300,
            1 << 31,
        ] {
            let mut wheel = Wheel::new(0);
            wheel.insert(deadline + 10, 1);
            wheel.insert(deadline, 2);
            assert_eq!(wheel.next_deadline(), Some(deadline), "deadline {deadline}");
            assert!(
                drain(&mut wheel, deadline - 1).is_empty(),
                "early at {deadline}"
            );
            assert_eq!(drain(&mut wheel, deadline), vec![2], "deadline {deadline}");
            assert_eq!(wheel.next_deadline(), Some(deadline + 10));
        }
    }

    #[test]
    fn cancel_removes_and_updates_next() {
        let mut wheel = Wheel::new(0);
        let a = wheel.insert(100, 1);
        let b = wheel.insert(200, 2);
        assert_eq!(wheel.cancel(a), Some(1));
        assert_eq!(wheel.cancel(a), None, "second cancel is a no-op");
        assert_eq!(wheel.next_deadline(), Some(200));
        assert_eq!(drain(&mut wheel, 10_000), vec![2]);
        assert_eq!(wheel.cancel(b), None, "a fired timer cannot be cancelled");
    }

    #[test]
    fn stale_id_does_not_cancel_a_reused_slot() {
        let mut wheel = Wheel::new(0);
        let a = wheel.insert(100, 1);
        wheel.cancel(a);
        let b = wheel.insert(100, 2);
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.cancel(b), Some(2));
    }

    #[test]
    fn cancel_between_pops_of_the_same_instant() {
        let mut wheel = Wheel::new(0);
        let ids: Vec<TimerId> = (0..5).map(|i| wheel.insert(50, i)).collect();
        let first = wheel.poll(50);
        assert!(first.is_some());
        for (i, id) in ids.iter().enumerate() {
            if Some(i as u32) != first {
                wheel.cancel(*id);
            }
        }
        assert_eq!(wheel.poll(50), None);
        assert!(wheel.is_empty());
    }

    #[test]
    fn past_deadline_fires_on_next_poll() {
        let mut wheel = Wheel::new(1000);
        wheel.insert(10, 9);
        assert_eq!(wheel.next_deadline(), Some(1001));
        assert_eq!(drain(&mut wheel, 1001), vec![9]);
    }

    #[test]
    fn many_timers_fire_in_deadline_order_when_polled_step_by_step() {
        // A deterministic spread over several levels, polled millisecond by millisecond
        // around each deadline: every timer fires exactly at its deadline.
        let mut wheel = Wheel::new(0);
        let mut deadlines: Vec<u64> = (0..2000u64).map(|i| (i * 7919) % 300_000 + 1).collect();
        for (i, d) in deadlines.iter().enumerate() {
            wheel.insert(*d, i as u32);
        }
        deadlines.sort_unstable();
        deadlines.dedup();
        let mut fired = 0;
        for d in deadlines {
            assert_eq!(wheel.next_deadline(), Some(d));
            assert!(drain(&mut wheel, d - 1).is_empty());
            fired += drain(&mut wheel, d).len();
        }
        assert_eq!(fired, 2000);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn big_jump_fires_everything_due() {
        let mut wheel = Wheel::new(0);
        for i in 0..100u32 {
            wheel.insert(u64::from(i) * 10_000 + 5, i);
        }
        let mut fired = drain(&mut wheel, 500_000);
        fired.sort_unstable();
        assert_eq!(fired, (0..=49).collect::<Vec<_>>());
        assert_eq!(wheel.next_deadline(), Some(500_005));
    }

    #[test]
    fn deadlines_beyond_the_wheel_span_still_fire_on_time() {
        let far = (1u64 << 36) * 3 + 12_345;
        let mut wheel = Wheel::new(0);
        wheel.insert(far, 1);
        let mut now = 0;
        // Follow the wheel's own wake-ups, as the event loop does.
        while let Some(next) = wheel.next_deadline() {
            assert!(next <= far, "never later than the deadline");
            now = next;
            if let Some(v) = wheel.poll(now) {
                assert_eq!(v, 1);
                break;
            }
        }
        assert_eq!(now, far);
    }

    #[test]
    fn same_instant_on_two_levels_both_fire() {
        // 4096 sits at a level-2 boundary; place one timer from far and one from near.
        let mut wheel = Wheel::new(0);
        wheel.insert(4096, 1);
        assert!(drain(&mut wheel, 4000).is_empty());
        wheel.insert(4096, 2);
        let mut fired = drain(&mut wheel, 4096);
        fired.sort_unstable();
        assert_eq!(fired, vec![1, 2]);
    }

    #[test]
    fn insert_during_poll_relative_to_lagging_now() {
        let mut wheel = Wheel::new(0);
        wheel.insert(100, 1);
        assert_eq!(wheel.poll(5000), Some(1));
        // The handler arms a new timer from the real time, later than the wheel's now.
        wheel.insert(5000 + 1000, 2);
        assert_eq!(wheel.poll(5000), None);
        assert_eq!(wheel.next_deadline(), Some(6000));
        assert_eq!(drain(&mut wheel, 6000), vec![2]);
    }
    #[test]
    fn a_deadline_across_the_top_rotation_boundary_fires() {
        // The top level's rotation is 2^36 ms: a deadline just past it, seen from just
        // before it, once left the loop spinning on a deadline poll() never delivered.
        let now = (1u64 << 36) - 10;
        let mut wheel = Wheel::new(now);
        wheel.insert(now + 15, 1);
        assert_eq!(wheel.next_deadline(), Some(now + 15));
        assert!(drain(&mut wheel, now + 14).is_empty());
        assert_eq!(drain(&mut wheel, now + 15), vec![1]);
        assert_eq!(wheel.next_deadline(), None);
    }

    /// A small LCG keeps the sequences deterministic without a dependency.
    fn lcg(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) % n.max(1)
        }
    }

    /// Drives a wheel and a brute-force model from `origin` with random inserts, cancels
    /// and time steps, checking after every step that the next deadline is exact and that
    /// exactly the due timers fire. Half of the time steps follow the wheel's own wake-ups,
    /// as the event loop does, and each such wake-up must deliver a timer.
    fn check_against_model(origin: u64, seed: u64, steps: u32) {
        let mut rand = lcg(seed);
        let mut wheel = Wheel::new(origin);
        let mut model: Vec<(TimerId, u64, u32)> = Vec::new();
        let mut now = origin;
        for step in 0..steps {
            match rand(10) {
                0..=4 => {
                    let span = [10, 4_096, 1 << 20, 1 << 31, 1 << 36, 1 << 40][rand(6) as usize];
                    let deadline = now.saturating_add(1).saturating_add(rand(span));
                    let id = wheel.insert(deadline, step);
                    model.push((id, deadline, step));
                }
                5 if !model.is_empty() => {
                    let (id, _, step) = model.swap_remove(rand(model.len() as u64) as usize);
                    assert_eq!(wheel.cancel(id), Some(step), "origin {origin:#x}");
                }
                _ => {
                    let expected_next = model.iter().map(|m| m.1).min();
                    let next = wheel.next_deadline();
                    assert_eq!(next, expected_next, "origin {origin:#x} step {step}");
                    let follow = rand(2) == 0;
                    let scale = [3_000, 1 << 24, 1 << 37][rand(3) as usize];
                    now = match next {
                        Some(next) if follow => next,
                        _ => now.saturating_add(rand(scale)),
                    };
                    let mut fired = drain(&mut wheel, now);
                    fired.sort_unstable();
                    let mut due: Vec<u32> =
                        model.iter().filter(|m| m.1 <= now).map(|m| m.2).collect();
                    due.sort_unstable();
                    assert_eq!(fired, due, "origin {origin:#x} step {step} at {now:#x}");
                    if follow && next.is_some() {
                        assert!(!fired.is_empty(), "a wake-up delivered nothing: {now:#x}");
                    }
                    model.retain(|m| m.1 > now);
                }
            }
            assert_eq!(wheel.len(), model.len());
        }
    }

    #[test]
    fn matches_a_brute_force_model_under_random_use() {
        check_against_model(0, 0x2545_F491_4F6C_DD1D, 20_000);
    }

    #[test]
    fn matches_the_model_from_random_origins_over_the_whole_range() {
        let mut rand = lcg(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let origin = rand(u64::MAX);
            check_against_model(origin, rand(u64::MAX), 600);
        }
    }

    #[test]
    fn matches_the_model_just_before_every_level_boundary() {
        let mut rand = lcg(7);
        for level in 1..=LEVELS as u32 + 2 {
            let width = 1u64 << (BITS * level);
            for multiple in [1u64, 2, 63, 64, 1 << 20] {
                let Some(boundary) = width.checked_mul(multiple) else {
                    continue;
                };
                for before in [1u64, 10, 63, 64, 4_095] {
                    check_against_model(boundary.saturating_sub(before), rand(u64::MAX), 400);
                }
            }
        }
        // The very end of time: deadlines saturate at u64::MAX and still fire.
        for before in [1u64, 100, 1 << 30, 1 << 36, 1 << 37] {
            check_against_model(u64::MAX - before, rand(u64::MAX), 400);
        }
    }
}
