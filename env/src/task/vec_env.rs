//! Vectorised environments: N [`VlnEnv`]s, each owned by a worker thread, stepped in parallel. Commands go
//! out on one crossbeam channel per worker and replies come back on another, so a batch of N steps costs one
//! round trip and the replies are read in request order (results never depend on thread scheduling).
//!
//! There is no auto-reset (unlike Gymnasium's vector envs): the caller decides which episode each slot
//! plays next, which is how the episode runner deals every episode of a split exactly once.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};
use episodes::Action;

use crate::error::{EnvError, Result};
use crate::task::{
    Env, Observation, ResetInfo, ResetOptions, SceneLibrary, StepResult, TaskDataset, VlnEnv,
    VlnEnvConfig,
};

enum Command {
    Reset {
        seed: Option<u64>,
        options: ResetOptions,
    },
    Step(Action),
}

enum Reply {
    Reset(Result<(Observation, ResetInfo)>),
    Step(Result<StepResult>),
}

struct Worker {
    commands: Sender<Command>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<()>>,
}

/// N environments on N worker threads.
pub struct VecEnv {
    workers: Vec<Worker>,
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("num_envs", &self.workers.len())
            .finish()
    }
}

impl VecEnv {
    /// Moves each environment onto its own worker thread.
    pub fn new(envs: Vec<VlnEnv>) -> Result<Self> {
        if envs.is_empty() {
            return Err(EnvError::Invalid(
                "vec env: needs at least one environment".into(),
            ));
        }
        let mut workers = Vec::with_capacity(envs.len());
        for (slot, mut env) in envs.into_iter().enumerate() {
            let (commands, command_rx) = bounded::<Command>(1);
            let (reply_tx, replies) = bounded::<Reply>(1);
            let thread = std::thread::Builder::new()
                .name(format!("vln-env-{slot}"))
                .spawn(move || {
                    for command in command_rx {
                        let reply = match command {
                            Command::Reset { seed, options } => {
                                Reply::Reset(env.reset(seed, &options))
                            }
                            Command::Step(action) => Reply::Step(env.step(action)),
                        };
                        if reply_tx.send(reply).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| {
                    EnvError::Invalid(format!("vec env: cannot start worker thread {slot}: {e}"))
                })?;
            workers.push(Worker {
                commands,
                replies,
                thread: Some(thread),
            });
        }
        Ok(VecEnv { workers })
    }

    /// `n` environments over one shared scene library and dataset.
    pub fn with_envs(
        n: usize,
        library: Arc<SceneLibrary>,
        dataset: Arc<TaskDataset>,
        config: VlnEnvConfig,
    ) -> Result<Self> {
        let envs = (0..n)
            .map(|_| VlnEnv::new(library.clone(), dataset.clone(), config))
            .collect::<Result<Vec<_>>>()?;
        VecEnv::new(envs)
    }

    pub fn num_envs(&self) -> usize {
        self.workers.len()
    }

    /// Sends one command per slot, then collects the replies in the same order. Every reply is read even when
    /// one fails, so the channels stay in step; the first failure is returned, naming its slot.
    fn round_trip<T>(
        &mut self,
        commands: Vec<(usize, Command)>,
        unpack: impl Fn(Reply) -> Option<Result<T>>,
    ) -> Result<Vec<T>> {
        let n = self.workers.len();
        let mut seen = vec![false; n];
        for (slot, _) in &commands {
            if *slot >= n || std::mem::replace(&mut seen[*slot], true) {
                return Err(EnvError::Invalid(format!(
                    "vec env: slot {slot} is out of range or repeated (num_envs {n})"
                )));
            }
        }
        let slots: Vec<usize> = commands.iter().map(|(s, _)| *s).collect();
        let mut sent = Vec::with_capacity(slots.len());
        for (slot, command) in commands {
            let ok = self.workers[slot].commands.send(command).is_ok();
            sent.push(ok);
        }
        let mut out = Vec::with_capacity(slots.len());
        let mut first_error = None;
        for (&slot, ok) in slots.iter().zip(sent) {
            let reply = if ok {
                self.workers[slot].replies.recv().ok()
            } else {
                None
            };
            let result = match reply {
                None => Err(EnvError::Invalid(format!(
                    "vec env: worker of slot {slot} has stopped"
                ))),
                Some(r) => unpack(r).unwrap_or_else(|| {
                    Err(EnvError::Invalid(format!(
                        "vec env: slot {slot}: reply out of order"
                    )))
                }),
            };
            match result {
                Ok(v) => out.push(v),
                Err(e) if first_error.is_none() => {
                    first_error = Some(EnvError::Invalid(format!("env slot {slot}: {e}")))
                }
                Err(_) => {}
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Resets the given slots in parallel; results in request order.
    pub fn reset(
        &mut self,
        requests: Vec<(usize, Option<u64>, ResetOptions)>,
    ) -> Result<Vec<(Observation, ResetInfo)>> {
        let commands = requests
            .into_iter()
            .map(|(slot, seed, options)| (slot, Command::Reset { seed, options }))
            .collect();
        self.round_trip(commands, |r| match r {
            Reply::Reset(x) => Some(x),
            Reply::Step(_) => None,
        })
    }

    /// Steps the given slots in parallel; results in request order.
    pub fn step(&mut self, actions: &[(usize, Action)]) -> Result<Vec<StepResult>> {
        let commands = actions
            .iter()
            .map(|&(slot, a)| (slot, Command::Step(a)))
            .collect();
        self.round_trip(commands, |r| match r {
            Reply::Step(x) => Some(x),
            Reply::Reset(_) => None,
        })
    }
}

impl Drop for VecEnv {
    fn drop(&mut self) {
        for w in &mut self.workers {
            // Closing the command channel ends the worker's loop.
            let (dead, _) = bounded(0);
            drop(std::mem::replace(&mut w.commands, dead));
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}
