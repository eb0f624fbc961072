//! The engine thread: its command loop, and spawning a worker (the fork runs on this thread,
//! which lives as long as the process, so a parent-death signal is tied to it).

use std::cell::RefCell;
use std::os::fd::{AsFd, IntoRawFd};
use std::rc::Rc;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::engine::{
    lock, ChannelEntry, ChannelOptions, Command, Core, CoreLink, ProcEntry, ReadTurn, Shared,
    SpawnResult, WardenState,
};
use super::host::ReadSide;
use super::reader::Reader;
use super::{host, memory, worker};
use crate::error::EngineError;
use crate::ipc::channel::Channel;
use crate::process::spawn::{self, SpawnRequest, Stdio};
use crate::process::warden::Warden;
use crate::scheduler::Scheduler;

pub(super) async fn engine_main(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Command>) {
    let core = Rc::new(Core {
        shared: shared.clone(),
        sched: Scheduler::new(),
        detached: RefCell::new(Default::default()),
        link: Rc::new(CoreLink {
            shared: shared.clone(),
        }),
        warden: RefCell::new(WardenState::NotStarted),
    });
    let link = core.link.clone();
    tokio::task::spawn_local(memory::watch(shared.clone()));
    tokio::task::spawn_local(host::watchdog(shared.clone()));
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Spawn {
                id,
                req,
                channel,
                reply,
            } => {
                let _ = reply.send(spawn_worker(&core, id, req, channel));
            }
            Command::Detach { id } => {
                core.detached.borrow_mut().insert(id);
                Scheduler::remove_worker(&core.sched, &link, id);
            }
            Command::SetPolicy(p) => core.sched.borrow_mut().set_policy(p),
            Command::SetRescue(w) => core.sched.borrow_mut().set_rescue(w),
            Command::Inherit { fds } => core.sched.borrow_mut().set_inherited(&fds),
            Command::Drain { id, done } => {
                Scheduler::drain(&core.sched, &link, id);
                let _ = done.send(());
            }
        }
    }
}

fn spawn_worker(
    core: &Rc<Core>,
    id: u32,
    req: SpawnRequest,
    options: ChannelOptions,
) -> Result<SpawnResult, EngineError> {
    let mode = options.mode;
    let ipc_index = req.stdio.iter().position(|s| *s == Stdio::Ipc);
    let mut warden = core.warden.borrow_mut();
    if matches!(*warden, WardenState::NotStarted) {
        *warden = match Warden::start() {
            Ok(w) => WardenState::Running(w),
            Err(_) => WardenState::Unavailable,
        };
    }
    // The warden ends orphans; without it, a worker gets SIGKILL when the primary is gone.
    let death_signal = match *warden {
        WardenState::Running(_) => 0,
        _ => libc::SIGKILL,
    };
    let spawned = spawn::spawn(&req, death_signal).map_err(|e| EngineError::Sys {
        errno: e.errno,
        syscall: "spawn",
    })?;
    if let WardenState::Running(w) = &*warden {
        if w.watch(spawned.pidfd.as_fd()).is_err() {
            *warden = WardenState::Unavailable;
        }
    }
    drop(warden);
    let mut stdio = Vec::with_capacity(spawned.parent_ends.len());
    let mut ipc = None;
    for (i, end) in spawned.parent_ends.into_iter().enumerate() {
        if Some(i) == ipc_index {
            ipc = end;
            stdio.push(None);
        } else {
            stdio.push(end.map(IntoRawFd::into_raw_fd));
        }
    }
    let ipc = ipc.ok_or_else(|| EngineError::Invalid("stdio has no 'ipc' entry".into()))?;
    nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&ipc),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| EngineError::from_nix(e, "spawn"))?;
    let channel = Channel::new(ipc).map_err(|e| EngineError::from_io(&e, "spawn"))?;
    let pidfd = crate::ipc::fdpass::register(spawned.pidfd)
        .map_err(|e| EngineError::from_io(&e, "spawn"))?;
    let side = Arc::new(ReadSide {
        reader: std::sync::Mutex::new(Reader::new(id, &options)),
        turn: ReadTurn::new(),
    });
    lock(&core.shared.channels).insert(
        id,
        ChannelEntry {
            channel: channel.clone(),
            mode,
            side: side.clone(),
        },
    );
    lock(&core.shared.procs).insert(
        id,
        ProcEntry {
            pid: spawned.pid,
            started: std::time::Instant::now(),
            handed: 0,
        },
    );
    tokio::task::spawn_local(worker::run(core.clone(), id, channel, pidfd, side));
    Ok(SpawnResult {
        pid: spawned.pid,
        stdio,
    })
}
