//! Integration tests: the real router on a fresh database per test, on SQLite and, when configured, PostgreSQL.

mod support;

mod accounts;
mod authz;
mod bad_input;
mod browser;
mod calendar;
mod cancellation;
mod catalogue;
mod close;
mod completion;
mod contract;
mod crawl;
mod csrf;
mod dashboard;
mod delivery;
mod faults;
mod forecast;
mod formatting;
mod hives;
mod news;
mod operations;
mod ordering;
mod payments;
mod pickup;
mod races;
mod recovery;
mod refunds;
mod reminders;
mod repeat;
mod sale;
mod security;
mod shop;
mod stock;
mod stripe;
mod workers;
