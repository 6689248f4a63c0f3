//! Where the hub's tasks run and how they stop: the one place that spawns them.
//!
//! | task | runtime | tracked by |
//! | --- | --- | --- |
//! | session actors | staff (one thread of its own) | `actors` |
//! | moderator, screen and overlay sockets | staff | `tasks` |
//! | phone lanes (one per session) | main | `tasks` |
//! | audience and press sockets | main | `tasks` |
//! | the quota sweeper | main | `tasks` |
//!
//! The staff runtime keeps the session actors and the staff sockets away from the main
//! runtime's workers, so a broadcast to thousands of phones never keeps the moderator, the
//! speakers' screen or the TV overlay waiting.
//!
//! Shutdown ([`Tasks::shutdown`]): the cancellation token tells every actor to stop taking
//! commands; each answers what is in flight and closes its sockets with 4503; then the sockets
//! write what they were sent and end, and the phone lanes end with their actors. Nothing polls.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::Role;

/// The hub's runtimes, cancellation token and task trackers.
#[derive(Debug)]
pub struct Tasks {
    /// The runtime `Tasks::start` was called on: HTTP, phones, phone lanes.
    main: Handle,
    /// Session actors and staff sockets.
    staff: Handle,
    /// The staff runtime itself, shut down by [`Tasks::shutdown`].
    staff_runtime: Mutex<Option<Runtime>>,
    /// Cancelled when shutdown begins.
    cancel: CancellationToken,
    /// Every session actor.
    actors: TaskTracker,
    /// Everything else: sockets, phone lanes, the sweeper.
    tasks: TaskTracker,
}

impl Tasks {
    /// Builds the staff runtime; the main runtime is the one this is called on.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub fn start() -> std::io::Result<Self> {
        let staff_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tanya-staff")
            .enable_all()
            .build()?;
        Ok(Self {
            main: Handle::current(),
            staff: staff_runtime.handle().clone(),
            staff_runtime: Mutex::new(Some(staff_runtime)),
            cancel: CancellationToken::new(),
            actors: TaskTracker::new(),
            tasks: TaskTracker::new(),
        })
    }

    /// The token cancelled when shutdown begins.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// A session actor: on the staff runtime.
    pub fn spawn_actor(&self, actor: impl Future<Output = ()> + Send + 'static) {
        self.staff.spawn(self.actors.track_future(actor));
    }

    /// A session's phone lane: on the main runtime, where the phone sockets it wakes run.
    pub fn spawn_phone_lane(&self, lane: impl Future<Output = ()> + Send + 'static) {
        self.main.spawn(self.tasks.track_future(lane));
    }

    /// A joined socket: staff sockets beside the actors, phones on the main runtime.
    pub fn spawn_socket(&self, role: Role, socket: impl Future<Output = ()> + Send + 'static) {
        let rt = if role.is_device() {
            &self.main
        } else {
            &self.staff
        };
        rt.spawn(self.tasks.track_future(socket));
    }

    /// A periodic job on the main runtime that ends when shutdown begins.
    pub fn spawn_every(&self, period: Duration, mut job: impl FnMut() + Send + 'static) {
        let cancel = self.cancel.clone();
        self.main.spawn(self.tasks.track_future(async move {
            let mut t = tokio::time::interval(period);
            t.tick().await;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = t.tick() => job(),
                }
            }
        }));
    }

    /// Begins shutdown and waits, within `actors_deadline`, for every actor to answer what is
    /// in flight and close its sockets.
    pub async fn stop_actors(&self, actors_deadline: Duration) {
        self.cancel.cancel();
        self.actors.close();
        if tokio::time::timeout(actors_deadline, self.actors.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.actors.len(),
                "some sessions did not stop in time"
            );
        }
    }

    /// After [`Tasks::stop_actors`]: waits, within `deadline`, for the sockets to deliver
    /// their close and for the phone lanes to end, then stops the staff runtime.
    pub async fn finish(&self, deadline: Duration) {
        self.tasks.close();
        if tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::debug!(left = self.tasks.len(), "tasks still running at exit");
        }
        if let Some(rt) = self.staff_runtime.lock().ok().and_then(|mut r| r.take()) {
            rt.shutdown_background();
        }
    }

    /// Tasks still running: (actors, others).
    pub fn running(&self) -> (usize, usize) {
        (self.actors.len(), self.tasks.len())
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        // A hub dropped without a shutdown (a test's) lets its staff thread go without waiting.
        if let Some(rt) = self.staff_runtime.get_mut().ok().and_then(Option::take) {
            rt.shutdown_background();
        }
    }
}
