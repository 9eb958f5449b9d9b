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
    pub doc: Doc,
}

/// What the OpenAPI document says of one operation, declared beside its handler.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    /// One line saying what the route does.
    pub summary: Option<&'static str>,
    /// The JSON body the route reads.
    pub body: Option<SchemaOf>,
    /// Whether the route also takes no body at all.
    pub body_optional: bool,
    /// Whether the body is `multipart/form-data` rather than JSON.
    pub multipart: bool,
    /// What a success answers.
    pub answer: Answer,
    pub access: Access,
    /// The refusals beyond those the generator derives (401 when signed in, 404 with ids in
    /// the path, 400 and 422 with a body or a query).
    pub refusals: Vec<u16>,
    /// The `?query` parameters.
    pub query: Option<ParamsOf>,
    pub headers: Vec<HeaderDoc>,
    /// Operations whose parameters this one's answer fills, for stateful clients.
    pub links: Vec<LinkDoc>,
}

/// Who may call an operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Access {
    /// Only a signed-in caller; anyone else gets 401.
    #[default]
    SignedIn,
    /// Anyone; a signed-in caller may see more.
    Optional,
    /// Anyone, and credentials change nothing.
    Anyone,
}

/// The success answer of an operation.
#[derive(Clone, Copy, Debug, Default)]
pub enum Answer {
    /// Not declared yet: the document says only "a JSON value".
    #[default]
    Unknown,
    Json {
        status: u16,
        schema: SchemaOf,
        list: bool,
        /// Response headers the answer carries: `Link` and `X-Total-Count` on pages.
        paged: bool,
    },
    Empty(u16),
    Csv,
}

/// A request header an operation reads.
#[derive(Clone, Copy, Debug)]
pub struct HeaderDoc {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
    /// The longest value read.
    pub max_length: usize,
}

/// An OpenAPI link: the answer's `pointer` fills `parameter` of the operation `target`.
#[derive(Clone, Copy, Debug)]
pub struct LinkDoc {
    pub name: &'static str,
    /// `METHOD /path` of the target, as the table lists it under `/api/v1`.
    pub target: &'static str,
    pub parameter: &'static str,
    /// A JSON pointer into the answer's body, such as `/id`.
    pub pointer: &'static str,
}

/// Schemas as utoipa collects them: a name and the schema, for every type a body is made of.
pub type Schemas = Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)>;

/// The schema of a type, kept as functions so the table stays plain data.
#[derive(Clone, Copy)]
pub struct SchemaOf {
    pub name: fn() -> String,
    /// Adds the type's schema and those of the types inside it.
    pub collect: fn(&mut Schemas),
}

impl SchemaOf {
    fn of<T: utoipa::ToSchema>() -> SchemaOf {
        SchemaOf {
            name: name_of::<T>,
            collect: collect_of::<T>,
        }
    }
}

impl std::fmt::Debug for SchemaOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&(self.name)())
    }
}

/// The query parameters of a type that derives `utoipa::IntoParams`.
#[derive(Clone, Copy)]
pub struct ParamsOf(pub fn() -> Vec<utoipa::openapi::path::Parameter>);

impl std::fmt::Debug for ParamsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("query")
    }
}

fn name_of<T: utoipa::ToSchema>() -> String {
    T::name().into_owned()
}

fn collect_of<T: utoipa::ToSchema>(out: &mut Schemas) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

fn query_of<Q: utoipa::IntoParams>() -> Vec<utoipa::openapi::path::Parameter> {
    Q::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// The handlers of one path, with the methods they answer.
pub struct Endpoint {
    router: MethodRouter<AppState>,
    methods: Vec<(Method, Doc)>,
}

macro_rules! verbs {
    ($($name:ident => $method:ident),*) => {
        $(
            pub fn $name<H, T>(handler: H) -> Endpoint
            where
                H: Handler<T, AppState>,
                T: 'static,
            {
                Endpoint { router: routing::$name(handler), methods: vec![(Method::$method, Doc::default())] }
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
                    self.methods.push((Method::$method, Doc::default()));
                    self
                }
            )*
        }
    };
}

verbs!(get => GET, post => POST, put => PUT, delete => DELETE);

/// Each of these describes the method added last.
impl Endpoint {
    fn last(mut self, change: impl FnOnce(&mut Doc)) -> Endpoint {
        if let Some((_, doc)) = self.methods.last_mut() {
            change(doc);
        }
        self
    }

    /// Says what the method does.
    pub fn summary(self, text: &'static str) -> Endpoint {
        self.last(|d| d.summary = Some(text))
    }

    /// Names the JSON body the method reads.
    pub fn body<B: utoipa::ToSchema>(self) -> Endpoint {
        self.last(|d| d.body = Some(SchemaOf::of::<B>()))
    }

    /// Names the multipart body the method reads (a file upload).
    pub fn upload<B: utoipa::ToSchema>(self) -> Endpoint {
        self.last(|d| {
            d.body = Some(SchemaOf::of::<B>());
            d.multipart = true;
        })
    }

    /// Lets every method of the path read a body of up to `bytes`, beyond the usual 2 MB.
    pub fn body_limit(mut self, bytes: usize) -> Endpoint {
        self.router = self
            .router
            .layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }

    /// Names the JSON body the method reads when one is sent.
    pub fn optional_body<B: utoipa::ToSchema>(self) -> Endpoint {
        self.last(|d| {
            d.body = Some(SchemaOf::of::<B>());
            d.body_optional = true;
        })
    }

    fn json<T: utoipa::ToSchema>(self, status: u16, list: bool) -> Endpoint {
        self.last(|d| {
            d.answer = Answer::Json {
                status,
                schema: SchemaOf::of::<T>(),
                list,
                paged: false,
            }
        })
    }

    /// Answers 200 with a `T`.
    pub fn ok<T: utoipa::ToSchema>(self) -> Endpoint {
        self.json::<T>(200, false)
    }

    /// Answers 200 with a list of `T`.
    pub fn ok_list<T: utoipa::ToSchema>(self) -> Endpoint {
        self.json::<T>(200, true)
    }

    /// Answers 200 with one page of a list of `T`, with `Link` and `X-Total-Count`.
    pub fn ok_page<T: utoipa::ToSchema>(self) -> Endpoint {
        self.last(|d| {
            d.answer = Answer::Json {
                status: 200,
                schema: SchemaOf::of::<T>(),
                list: true,
                paged: true,
            }
        })
    }

    /// Answers 201 with the `T` made.
    pub fn created<T: utoipa::ToSchema>(self) -> Endpoint {
        self.json::<T>(201, false)
    }

    /// Answers 201 with the list of `T` made.
    pub fn created_list<T: utoipa::ToSchema>(self) -> Endpoint {
        self.json::<T>(201, true)
    }

    /// Answers 202 with a `T`: the work is taken, not done.
    pub fn accepted<T: utoipa::ToSchema>(self) -> Endpoint {
        self.json::<T>(202, false)
    }

    /// Answers `status` with no body (204, or 202 for work taken).
    pub fn empty(self, status: u16) -> Endpoint {
        self.last(|d| d.answer = Answer::Empty(status))
    }

    /// Answers 200 with a CSV file.
    pub fn csv(self) -> Endpoint {
        self.last(|d| d.answer = Answer::Csv)
    }

    /// Anyone may call it; credentials change nothing.
    pub fn public(self) -> Endpoint {
        self.last(|d| d.access = Access::Anyone)
    }

    /// Anyone may call it; a signed-in caller may see more.
    pub fn optional_auth(self) -> Endpoint {
        self.last(|d| d.access = Access::Optional)
    }

    /// Statuses it refuses with beyond those the document derives.
    pub fn refuses(self, statuses: &[u16]) -> Endpoint {
        self.last(|d| d.refusals.extend_from_slice(statuses))
    }

    /// Names the type of its `?query` parameters.
    pub fn query<Q: utoipa::IntoParams>(self) -> Endpoint {
        self.last(|d| d.query = Some(ParamsOf(query_of::<Q>)))
    }

    /// A request header it reads.
    pub fn header(self, header: HeaderDoc) -> Endpoint {
        self.last(|d| d.headers.push(header))
    }

    /// Applies a set of declarations shared by several operations.
    pub fn pipe(self, declare: impl FnOnce(Endpoint) -> Endpoint) -> Endpoint {
        declare(self)
    }

    /// Its answer's `pointer` fills `parameter` of `target` (`METHOD /path`).
    pub fn link(
        self,
        name: &'static str,
        target: &'static str,
        parameter: &'static str,
        pointer: &'static str,
    ) -> Endpoint {
        self.last(|d| {
            d.links.push(LinkDoc {
                name,
                target,
                parameter,
                pointer,
            })
        })
    }
}

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
                .map(|(method, doc)| RouteEntry {
                    method,
                    path: path.to_owned(),
                    doc,
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
