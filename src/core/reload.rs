//! Hot reload: re-read the same file with full validation, then add, remove and update
//! instances without restarting the ones that stay. A file that does not load changes
//! nothing. Removed instances leave the table at once and are stopped in the background,
//! so the reply (and everyone else) never waits for their stop.

use std::collections::HashSet;

use log::{info, warn};

use super::{policy, Core};
use crate::config::{self, Config, Instance};

/// What a reload did, by instance name, each list sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Core {
    /// Reads the config file again and applies it; a file that does not load changes
    /// nothing and says why.
    pub fn reload(&mut self) -> Result<ReloadSummary, String> {
        let path = self.config.path.clone();
        info!("Reloading config from {}", path.display());
        let new = config::load(&path).map_err(|e| {
            warn!("Reload failed: {e}");
            e.to_string()
        })?;
        Ok(self.apply(new))
    }

    /// Makes the table match a new config: instances it lacks are removed, new ones
    /// added (and started if autostart), changed ones take the new config on their next
    /// start. The running daemon's own settings stay, except shutdown_timeout.
    pub fn apply(&mut self, mut new: Config) -> ReloadSummary {
        for warning in std::mem::take(&mut new.warnings) {
            warn!("{warning}");
        }
        self.passwd.config_loaded();
        let instances: Vec<Instance> = new.instances().collect();
        let new_names: HashSet<&str> = instances.iter().map(|i| i.name.as_str()).collect();
        let mut summary = ReloadSummary::default();

        let removed = self.ids_where(|s| !new_names.contains(s.config.name.as_str()));
        for index in removed {
            summary.removed.extend(self.remove(index));
        }

        for instance in instances {
            match self.table.by_name.get(&instance.name).copied() {
                None => {
                    summary.added.push(instance.name.clone());
                    let autostart = instance.autostart;
                    let index = self.add(instance);
                    if autostart && self.accepting {
                        self.start(index);
                    }
                }
                Some(index) => {
                    let Some(slot) = self.slot_mut(index) else {
                        continue;
                    };
                    if slot.config != instance {
                        info!(
                            "Program '{}': config updated; takes effect on next restart",
                            instance.name
                        );
                        summary.changed.push(instance.name.clone());
                        slot.life.set_policy(policy(&instance));
                        slot.config = instance;
                    }
                }
            }
        }

        // The new [supervice] section is not applied (socket, logger, pidfile stay), except
        // shutdown_timeout, which is read at shutdown.
        let shutdown_timeout = new.global.shutdown_timeout;
        new.global = config::Global {
            shutdown_timeout,
            ..self.config.global.clone()
        };
        self.config = new;
        summary.added.sort_unstable();
        summary.removed.sort_unstable();
        summary.changed.sort_unstable();
        info!(
            "Reload complete: added={:?} removed={:?} changed={:?}",
            summary.added, summary.removed, summary.changed
        );
        summary
    }

    /// Adds one group of a config read since (supervisord's `addProcessGroup`): its
    /// programs join the table and the autostart ones start. The rest of the table is
    /// untouched. `None` if `from` has no such group or it is in the table already.
    pub fn add_group(&mut self, from: &Config, name: &str) -> Option<Vec<super::Id>> {
        if self.config.groups.iter().any(|g| g.name == name) {
            return None;
        }
        let group = from.groups.iter().find(|g| g.name == name)?.clone();
        let programs: Vec<config::Program> = from
            .programs
            .iter()
            .filter(|p| group.programs.contains(&p.name))
            .cloned()
            .collect();
        let mut ids = Vec::new();
        for program in &programs {
            for instance in program.instances() {
                let autostart = instance.autostart;
                let id = self.add(instance);
                if autostart && self.accepting {
                    self.start(id);
                }
                ids.push(id);
            }
        }
        info!("added process group {name}");
        self.config.programs.extend(programs);
        self.config.groups.push(group);
        Some(ids)
    }

    /// Takes a group out of the table (supervisord's `removeProcessGroup`); its
    /// instances are stopped in the background. Returns their names, or `None` for no
    /// such group.
    pub fn remove_group(&mut self, name: &str) -> Option<Vec<String>> {
        let ids = self.group(name)?;
        let group = self.config.groups.iter().position(|g| g.name == name)?;
        let group = self.config.groups.remove(group);
        self.config
            .programs
            .retain(|p| !group.programs.contains(&p.name));
        let names = ids.into_iter().filter_map(|id| self.remove(id)).collect();
        info!("removed process group {name}");
        Some(names)
    }

    /// Frees a retired slot whose child is gone.
    pub(super) fn release_retired(&mut self, index: usize) {
        let done = self
            .slot(index)
            .is_some_and(|s| s.retiring && s.life.pid().is_none());
        if !done {
            return;
        }
        self.stop_health(index);
        if let Some(mut slot) = self.table.slots.get_mut(index).and_then(Option::take) {
            if let Some(timer) = slot.timer.take() {
                self.reactor.disarm(timer);
            }
            self.table.free.push(index);
        }
    }
}
