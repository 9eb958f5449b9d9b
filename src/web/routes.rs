//! The route table: every module declares its routes here, so the router and the list of what it serves are built together.

use crate::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};

/// One route as the table lists it: a method and an axum path such as `/hives/{hive_id}`.
#[derive(Clone, Debug)]
pub struct RouteEntry {
    pub method: Method,
    pub path: String,
    /// One line saying what the route does, for the OpenAPI document.
    pub summary: Option<&'static str>,
    /// The JSON body the route reads, for the OpenAPI document.
    pub body: Option<BodySchema>,
}

/// Schemas as utoipa collects them: a name and the schema, for every type a body is made of.
pub type Schemas = Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)>;

/// The schema of a request body type, kept as functions so the table stays plain data.
#[derive(Clone, Copy)]
pub struct BodySchema {
    pub name: fn() -> String,
    /// Adds the type's schema and those of the types inside it.
    pub collect: fn(&mut Schemas),
}

impl std::fmt::Debug for BodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&(self.name)())
    }
}

fn name_of<T: utoipa::ToSchema>() -> String {
    T::name().into_owned()
}

fn collect_of<T: utoipa::ToSchema>(out: &mut Schemas) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// The handlers of one path, with the methods they answer.
pub struct Endpoint {
    router: MethodRouter<AppState>,
    methods: Vec<(Method, Option<&'static str>, Option<BodySchema>)>,
}

macro_rules! verbs {
    ($($name:ident => $method:ident),*) => {
        $(
            pub fn $name<H, T>(handler: H) -> Endpoint
            where
                H: Handler<T, AppState>,
                T: 'static,
            {
                Endpoint { router: routing::$name(handler), methods: vec![(Method::$method, None, None)] }
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
                    self.methods.push((Method::$method, None, None));
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

            /// Names the JSON body the method added last reads.
            pub fn body<B: utoipa::ToSchema>(mut self) -> Endpoint {
                if let Some(last) = self.methods.last_mut() {
                    last.2 = Some(BodySchema { name: name_of::<B>, collect: collect_of::<B> });
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
                .map(|(method, summary, body)| RouteEntry {
                    method,
                    path: path.to_owned(),
                    summary,
                    body,
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
