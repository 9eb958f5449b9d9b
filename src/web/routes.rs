//! The route table: every module declares its routes here, so the router and the list of what it serves are built together.

use crate::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};

/// One route as the table lists it: a method and an axum path such as `/hives/{hive_id}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteEntry {
    pub method: Method,
    pub path: String,
    /// One line saying what the route does, for the OpenAPI document.
    pub summary: Option<&'static str>,
}

/// The handlers of one path, with the methods they answer.
pub struct Endpoint {
    router: MethodRouter<AppState>,
    methods: Vec<(Method, Option<&'static str>)>,
}

macro_rules! verbs {
    ($($name:ident => $method:ident),*) => {
        $(
            pub fn $name<H, T>(handler: H) -> Endpoint
            where
                H: Handler<T, AppState>,
                T: 'static,
            {
                Endpoint { router: routing::$name(handler), methods: vec![(Method::$method, None)] }
            }
        )*

        impl Endpoint {
            $(
                pub fn $name<H, T>(mut self, handler: H) -> Endpoint
                where
                    H: Handler<T, AppState>,
                    T: 'static,
                {
                    self.router = self.router.$name(handler);
                    self.methods.push((Method::$method, None));
                    self
                }
            )*

            /// Says what the method added last does.
            pub fn summary(mut self, text: &'static str) -> Endpoint {
                if let Some(last) = self.methods.last_mut() {
                    last.1 = Some(text);
                }
                self
            }
        }
    };
}

verbs!(get => GET, post => POST, put => PUT, delete => DELETE);

/// A router that remembers its routes.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteEntry>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    pub fn route(mut self, path: &str, endpoint: Endpoint) -> Routes {
        self.table.extend(
            endpoint
                .methods
                .into_iter()
                .map(|(method, summary)| RouteEntry {
                    method,
                    path: path.to_owned(),
                    summary,
                }),
        );
        self.router = self.router.route(path, endpoint.router);
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }

    /// Mounts `other` under `prefix`, which its paths in the table gain too.
    pub fn nest(mut self, prefix: &str, other: Routes) -> Routes {
        self.table
            .extend(other.table.into_iter().map(|e| RouteEntry {
                path: format!("{prefix}{}", e.path),
                ..e
            }));
        self.router = self.router.nest(prefix, other.router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteEntry>) {
        (self.router, self.table)
    }
}
