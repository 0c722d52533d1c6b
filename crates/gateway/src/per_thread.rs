//! State kept once per event-loop thread ([`candor_serve::worker`]), so that what a request
//! writes (counters, caches, pools) stays in its own core's cache: two cores writing one cache
//! line pass it back and forth on every write, which the gateway measured as the larger part
//! of what its request path cost beyond hyper's own.

/// One slot per event-loop thread, each on cache lines of its own, and one for code off the
/// loops (background tasks, tests).
pub struct PerThread<T> {
    slots: Box<[Padded<T>]>,
    off_loop: Padded<T>,
}

#[repr(align(128))]
struct Padded<T>(T);

impl<T> PerThread<T> {
    /// Slots for `threads` event loops, each made by `make`.
    pub fn new(threads: usize, mut make: impl FnMut() -> T) -> PerThread<T> {
        PerThread {
            slots: (0..threads).map(|_| Padded(make())).collect(),
            off_loop: Padded(make()),
        }
    }

    /// This thread's slot.
    pub fn get(&self) -> &T {
        candor_serve::worker()
            .and_then(|w| self.slots.get(w))
            .map_or(&self.off_loop.0, |p| &p.0)
    }

    /// Every slot, for totals.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots
            .iter()
            .chain(std::iter::once(&self.off_loop))
            .map(|p| &p.0)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for PerThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_the_event_loops_one_slot_serves_all() {
        let p = PerThread::new(3, || std::sync::atomic::AtomicU32::new(0));
        p.get().fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        p.get().fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let counts: Vec<u32> = p
            .iter()
            .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        assert_eq!(counts, vec![0, 0, 0, 2]);
        assert_eq!(std::mem::align_of::<Padded<u8>>(), 128);
    }
}
