//! The session tasks one accept loop started: how many still run, a way
//! to wait until none does, and a way to abort them all (the end of a
//! shutdown's grace period).
//!
//! A `JoinSet` served before, at about 1,000 instructions per connection
//! on the accept loop: its per-task list entry and waker, and a reap after
//! every accept. Sessions return nothing, so a slot per running task with
//! its abort handle is enough; the task frees its slot itself when it ends.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The sessions of one accept loop.
pub(crate) struct SessionTasks {
    shared: Arc<Shared>,
}

struct Shared {
    slots: Mutex<Slots>,
    /// Notified when the last running task ends.
    all_ended: Notify,
}

#[derive(Default)]
struct Slots {
    /// The abort handles of the running tasks; `None` for a free slot
    /// (listed in `free`).
    handles: Vec<Option<AbortHandle>>,
    free: Vec<usize>,
    running: usize,
    /// Someone waits for every task to end (so the last one notifies).
    waiting: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Frees its task's slot when the task ends, however it ends.
struct SlotGuard {
    shared: Arc<Shared>,
    slot: usize,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let last = {
            let mut slots = self.shared.lock();
            if let Some(handle) = slots.handles.get_mut(self.slot) {
                *handle = None;
            }
            slots.free.push(self.slot);
            slots.running -= 1;
            slots.running == 0 && slots.waiting
        };
        if last {
            self.shared.all_ended.notify_waiters();
        }
    }
}

impl SessionTasks {
    pub(crate) fn new() -> Self {
        SessionTasks {
            shared: Arc::new(Shared {
                slots: Mutex::new(Slots::default()),
                all_ended: Notify::new(),
            }),
        }
    }

    /// Runs `task` on the runtime, counted until it ends.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Held while the task is spawned: if it ends at once on another
        // thread, its guard waits for the handle to be stored first.
        let mut slots = self.shared.lock();
        let slot = match slots.free.pop() {
            Some(slot) => slot,
            None => {
                slots.handles.push(None);
                slots.handles.len() - 1
            }
        };
        slots.running += 1;
        let guard = SlotGuard {
            shared: self.shared.clone(),
            slot,
        };
        let handle = tokio::spawn(async move {
            let _guard = guard;
            task.await
        });
        if let Some(entry) = slots.handles.get_mut(slot) {
            *entry = Some(handle.abort_handle());
        }
    }

    /// How many tasks are running.
    pub(crate) fn running(&self) -> usize {
        self.shared.lock().running
    }

    /// Completes when no task is running.
    pub(crate) async fn all_ended(&self) {
        loop {
            let notified = self.shared.all_ended.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the count is read: an end in between still
            // wakes this wait.
            notified.as_mut().enable();
            {
                let mut slots = self.shared.lock();
                if slots.running == 0 {
                    return;
                }
                slots.waiting = true;
            }
            notified.await;
        }
    }

    /// Aborts every running task (each frees its slot as it is dropped).
    pub(crate) fn abort_all(&self) {
        let slots = self.shared.lock();
        for handle in slots.handles.iter().flatten() {
            handle.abort();
        }
    }
}

/// The sessions end with their accept loop (a `serve` future dropped).
impl Drop for SessionTasks {
    fn drop(&mut self) {
        self.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn counts_waits_for_and_aborts_its_tasks() {
        let tasks = SessionTasks::new();
        // Nothing running: the wait completes at once.
        tokio::time::timeout(Duration::from_secs(5), tasks.all_ended())
            .await
            .expect("no task: ended");
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _ = released.await;
        });
        tasks.spawn(std::future::pending());
        for _ in 0..50 {
            tasks.spawn(async {});
        }
        assert!(tasks.running() >= 2);
        // The short tasks end by themselves; the two others hold.
        tokio::time::timeout(Duration::from_millis(200), tasks.all_ended())
            .await
            .expect_err("two tasks still run");
        assert_eq!(tasks.running(), 2);
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_millis(200), tasks.all_ended())
            .await
            .expect_err("the pending task still runs");
        assert_eq!(tasks.running(), 1);
        // Aborting ends the one that never would.
        tasks.abort_all();
        tokio::time::timeout(Duration::from_secs(5), tasks.all_ended())
            .await
            .expect("aborted: ended");
        assert_eq!(tasks.running(), 0);
        // Freed slots are reused.
        let slots = tasks.shared.lock().handles.len();
        tasks.spawn(std::future::pending());
        tasks.spawn(std::future::pending());
        assert_eq!(tasks.shared.lock().handles.len(), slots);
        assert_eq!(tasks.running(), 2);
        tasks.abort_all();
        tokio::time::timeout(Duration::from_secs(5), tasks.all_ended())
            .await
            .expect("aborted again: ended");
    }
}
