//! Tanya's integration tests, one crate (one test binary: `cargo test --test it`). Each module
//! is one journey or one fault suite against the real `tanya` binary on 127.0.0.1 with a real
//! SQLite file in a temporary folder (`common`: the harness; `faults`: what the fault suites
//! share). Run one with a filter: `cargo test --test it resume::`.
//!
//! The tests of every module run in one process, two at a time by default: a test that loads
//! the machine or measures time says so (`common::loads_the_machine`, `common::measures_time`),
//! so that no load runs beside a measurement.

mod common;
mod faults;

mod actor_failure;
mod address_bans;
mod at_rest;
mod audience_asks;
mod bad_input;
mod cluster;
mod cluster_failover;
mod desk;
mod faults_abuse;
mod faults_crash;
mod faults_flapping;
mod faults_hostile;
mod faults_lost_replies;
mod faults_shutdown;
mod faults_slow;
mod followup;
mod followup_office;
mod http_api;
mod intake;
mod journal;
mod keys;
mod liveness;
mod moderator_moderates;
mod moderator_page;
mod onair;
mod open_files;
mod overlay;
mod pg_nodes;
mod pg_outage;
mod polls;
mod powercut;
mod programme;
mod proxy;
mod restart_durability;
mod resume;
mod shutdown;
mod speaker_screen;
mod store_failure;
mod two_moderators;
mod votes;
