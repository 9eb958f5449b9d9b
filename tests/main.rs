//! Integration tests: the real router on a fresh database per test, on SQLite and, when configured, PostgreSQL.

mod support;

mod accounts;
mod authz;
mod browser;
mod calendar;
mod catalogue;
mod close;
mod contract;
mod crawl;
mod dashboard;
mod faults;
mod forecast;
mod formatting;
mod hives;
mod news;
mod operations;
mod races;
mod recovery;
mod refunds;
mod sale;
mod security;
mod shop;
mod smtp;
mod stripe;
