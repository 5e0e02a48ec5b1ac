//! Fleets: the hosts golive checks remotely. `inventory` reads them from an Ansible inventory.

pub mod inventory;
