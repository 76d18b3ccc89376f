//! The figures of a parsed document — depth, complexity, introspection size, aliases, root
//! fields — computed from its AST alone, before async-graphql sees it.
//!
//! async-graphql's own `check_recursive_depth`, validation and depth/complexity visitors expand
//! every fragment spread anew: fragments that spread the next one twice cost 2^n. Here each
//! fragment's figures are computed once, in dependency order (a fragment after the fragments
//! it spreads), and a spread adds the kept figures: any document is measured in time linear in
//! its length. A spread of an undefined fragment, or fragments spreading each other in a cycle,
//! is an error (async-graphql would report them too, after its exponential walk).
//!
//! Complexity is 1 per field (and per fragment spread), with list fields multiplied by the
//! number of items they may return: `jobs` by its `first`/`last` (20 when absent), `nodes` by
//! its `ids`, `jobInputs` by [`INPUTS_PER_JOB`], and inside `jobStatistics` its `buckets` and
//! `groups` by the buckets and groups its arguments ask for (kept symbolic until then, so a
//! fragment measured once still counts them: [`crate::graphql::statistics::cost`]).
//! Introspection (`__schema`, `__type` and fragments on `__…` types) is counted apart, its
//! lists multiplied by the largest such list of this schema ([`IntrospectionSizes`]): that
//! figure bounds the size of the answer.

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    ExecutableDocument, Selection, SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Value};

use crate::graphql::history::page::DEFAULT_PAGE_SIZE;
use crate::graphql::statistics::cost::{self, Cost};

/// How many inputs a job is assumed to have when estimating query complexity.
pub const INPUTS_PER_JOB: u64 = 5;

/// The measured figures of a document (saturating: a figure never wraps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Deepest nesting of fields.
    pub depth: u64,
    /// Complexity of the data fields (of an operation: everything; of a fragment or a
    /// selection inside `jobStatistics`: the part that does not depend on its shape).
    pub complexity: u64,
    /// The part of the complexity that depends on the buckets and groups of the
    /// `jobStatistics` field the selection is in (see [`Cost`]).
    pub statistics: Cost,
    /// Complexity of the introspection fields: an upper bound on the answer's values.
    pub introspection: u64,
    /// Aliases, counted once per use (an alias in a fragment spread 3 times counts 3).
    pub aliases: u64,
    /// Fields at the top of the selection (through fragments); for an operation, its root
    /// fields.
    pub top_fields: u64,
    /// Whether `__schema` or `__type` is asked.
    pub introspects: bool,
    /// Most directives on one selection.
    pub directives: u64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.depth = self.depth.max(other.depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.statistics.add(&other.statistics);
        self.introspection = self.introspection.saturating_add(other.introspection);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.introspects |= other.introspects;
        self.directives = self.directives.max(other.directives);
    }
}

/// A document that cannot be measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmeasurable {
    /// A spread of a fragment the document does not define.
    UnknownFragment(String),
    /// Fragments that spread each other in a cycle (some of their names).
    FragmentCycle(Vec<String>),
}

impl Unmeasurable {
    /// What to tell the client.
    pub fn message(&self) -> String {
        match self {
            Self::UnknownFragment(name) => {
                format!("fragment `{name}` is spread but not defined in the document")
            }
            Self::FragmentCycle(names) => format!(
                "fragments spread each other in a cycle (among: {}); \
                 a fragment may not spread itself, directly or through others",
                names.join(", ")
            ),
        }
    }
}

/// The largest list each introspection list field can return in this schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntrospectionSizes {
    types: u64,
    fields: u64,
    args: u64,
    input_fields: u64,
    enum_values: u64,
    possible_types: u64,
    interfaces: u64,
    directives: u64,
}

impl IntrospectionSizes {
    /// The sizes of the schema whose SDL is `sdl`, with the built-in introspection types,
    /// scalars and directives added.
    pub fn of_sdl(sdl: &str) -> Self {
        // Built-ins: 8 introspection types + 5 scalars; `__Type` has 11 fields,
        // `__DirectiveLocation` 19 values; 5 directives (include, skip, deprecated,
        // specifiedBy, oneOf).
        let mut s = Self {
            types: 13,
            fields: 11,
            args: 1,
            input_fields: 0,
            enum_values: 19,
            possible_types: 0,
            interfaces: 0,
            directives: 5,
        };
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else {
            return s;
        };
        let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let mut members: u64 = 0;
        for definition in &doc.definitions {
            match definition {
                TypeSystemDefinition::Type(t) => {
                    s.types += 1;
                    match &t.node.kind {
                        TypeKind::Object(o) => {
                            s.fields = s.fields.max(len(o.fields.len()));
                            s.interfaces = s.interfaces.max(len(o.implements.len()));
                            for f in &o.fields {
                                s.args = s.args.max(len(f.node.arguments.len()));
                            }
                        }
                        TypeKind::Interface(i) => {
                            s.fields = s.fields.max(len(i.fields.len()));
                            s.interfaces = s.interfaces.max(len(i.implements.len()));
                            for f in &i.fields {
                                s.args = s.args.max(len(f.node.arguments.len()));
                            }
                        }
                        TypeKind::Union(u) => members = members.max(len(u.members.len())),
                        TypeKind::Enum(e) => s.enum_values = s.enum_values.max(len(e.values.len())),
                        TypeKind::InputObject(i) => {
                            s.input_fields = s.input_fields.max(len(i.fields.len()));
                        }
                        TypeKind::Scalar => {}
                    }
                }
                TypeSystemDefinition::Directive(d) => {
                    s.directives += 1;
                    s.args = s.args.max(len(d.node.arguments.len()));
                }
                TypeSystemDefinition::Schema(_) => {}
            }
        }
        // An interface's possible types are at most every object type.
        s.possible_types = members.max(if s.interfaces > 0 { s.types } else { 0 });
        s
    }

    fn factor(&self, field: &str) -> Option<u64> {
        Some(match field {
            "types" => self.types,
            "fields" => self.fields,
            "args" => self.args,
            "inputFields" => self.input_fields,
            "enumValues" => self.enum_values,
            "possibleTypes" => self.possible_types,
            "interfaces" => self.interfaces,
            "directives" => self.directives,
            _ => return None,
        })
    }
}

/// Measures documents against one schema's introspection sizes.
#[derive(Clone, Copy, Debug)]
pub struct Measure<'a> {
    /// The schema's introspection list sizes.
    pub sizes: &'a IntrospectionSizes,
    /// The request's variables (list sizes may come from them).
    pub variables: &'a Variables,
}

impl Measure<'_> {
    /// The figures of each operation of `doc`, by name (`None`: the anonymous one).
    pub fn operations(
        &self,
        doc: &ExecutableDocument,
    ) -> Result<Vec<(Option<Name>, Figures)>, Unmeasurable> {
        let fragments = self.fragments(doc)?;
        let mut out = Vec::new();
        for (name, op) in doc.operations.iter() {
            let mut spreads = Vec::new();
            spread_names(&op.node.selection_set.node, &mut spreads);
            if let Some(unknown) = spreads.iter().find(|s| !doc.fragments.contains_key(**s)) {
                return Err(Unmeasurable::UnknownFragment((*unknown).to_string()));
            }
            let mut figures = self.set(doc, &op.node.selection_set.node, false, &fragments);
            // Lists of a statistics' shape outside any `jobStatistics` count once.
            figures.complexity = figures
                .complexity
                .saturating_add(figures.statistics.at(1, 1));
            figures.statistics = Cost::default();
            figures.directives = figures
                .directives
                .max(u64::try_from(op.node.directives.len()).unwrap_or(u64::MAX));
            out.push((name.cloned(), figures));
        }
        Ok(out)
    }

    /// Every fragment's figures, each computed once, after those of the fragments it spreads.
    fn fragments<'d>(
        &self,
        doc: &'d ExecutableDocument,
    ) -> Result<HashMap<&'d str, Figures>, Unmeasurable> {
        // Which fragments each fragment spreads, and who waits on whom.
        let mut waiting_on: HashMap<&str, usize> = HashMap::new();
        let mut dependants: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, fragment) in &doc.fragments {
            let mut spreads = Vec::new();
            spread_names(&fragment.node.selection_set.node, &mut spreads);
            spreads.sort_unstable();
            spreads.dedup();
            for spread in &spreads {
                if !doc.fragments.contains_key(*spread) {
                    return Err(Unmeasurable::UnknownFragment((*spread).to_string()));
                }
                dependants.entry(*spread).or_default().push(name.as_str());
            }
            waiting_on.insert(name.as_str(), spreads.len());
        }
        let mut ready: Vec<&str> = waiting_on
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(name, _)| *name)
            .collect();
        let mut done: HashMap<&str, Figures> = HashMap::with_capacity(doc.fragments.len());
        while let Some(name) = ready.pop() {
            let fragment = &doc.fragments[name];
            let introspection = fragment.node.type_condition.node.on.node.starts_with("__");
            let figures = self.set(doc, &fragment.node.selection_set.node, introspection, &done);
            done.insert(name, figures);
            for dependant in dependants.get(name).into_iter().flatten() {
                let n = waiting_on
                    .get_mut(dependant)
                    .expect("every fragment is counted");
                *n -= 1;
                if *n == 0 {
                    ready.push(dependant);
                }
            }
        }
        if done.len() < doc.fragments.len() {
            let mut names: Vec<String> = waiting_on
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(name, _)| (*name).to_string())
                .collect();
            names.sort();
            names.truncate(5);
            return Err(Unmeasurable::FragmentCycle(names));
        }
        Ok(done)
    }

    /// The figures of one selection set; spreads add their fragment's kept figures.
    /// `introspection`: the set belongs to an introspection type.
    fn set(
        &self,
        doc: &ExecutableDocument,
        set: &SelectionSet,
        introspection: bool,
        fragments: &HashMap<&str, Figures>,
    ) -> Figures {
        let mut total = Figures::default();
        for item in &set.items {
            let directives = u64::try_from(item.node.directives().len()).unwrap_or(u64::MAX);
            let mut figures = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let opens = matches!(name, "__schema" | "__type");
                    let inner = introspection || opens;
                    let child = self.set(doc, &field.selection_set.node, inner, fragments);
                    let factor = if inner {
                        self.sizes.factor(name)
                    } else {
                        self.data_factor(doc, field)
                    };
                    let (data, intro) = match factor {
                        Some(n) => (
                            child.complexity.saturating_mul(n),
                            child.introspection.saturating_mul(n),
                        ),
                        None => (child.complexity, child.introspection),
                    };
                    // A list field costs its items; any other field 1 plus its children.
                    let own = u64::from(factor.is_none());
                    let (mut complexity, introspection_cost) = if inner {
                        (0, own.saturating_add(data).saturating_add(intro))
                    } else {
                        (own.saturating_add(data), intro)
                    };
                    let mut statistics = child.statistics.scaled(factor.unwrap_or(1));
                    if !inner {
                        (complexity, statistics) =
                            self.statistics_cost(doc, field, &child, (complexity, statistics));
                    }
                    Figures {
                        depth: child.depth + 1,
                        complexity,
                        statistics,
                        introspection: introspection_cost,
                        aliases: child
                            .aliases
                            .saturating_add(u64::from(field.alias.is_some())),
                        top_fields: 1,
                        introspects: child.introspects || opens,
                        directives: child.directives,
                    }
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on_introspection = inline
                        .type_condition
                        .as_ref()
                        .is_some_and(|t| t.node.on.node.starts_with("__"));
                    self.set(
                        doc,
                        &inline.selection_set.node,
                        introspection || on_introspection,
                        fragments,
                    )
                }
                Selection::FragmentSpread(spread) => {
                    // Every spread's fragment was measured before (or the document refused).
                    let mut f = fragments
                        .get(spread.node.fragment_name.node.as_str())
                        .copied()
                        .unwrap_or_default();
                    if introspection {
                        f.introspection = f.introspection.saturating_add(1);
                    } else {
                        f.complexity = f.complexity.saturating_add(1);
                    }
                    f
                }
            };
            figures.directives = figures.directives.max(directives);
            total.add(&figures);
        }
        total
    }

    /// The complexity of `field` when it is `jobStatistics` (its selection's cost evaluated
    /// at its buckets and groups), `buckets` or `groups` (multiplied by those, still
    /// symbolic); else `plain`, as computed for any field.
    fn statistics_cost(
        &self,
        doc: &ExecutableDocument,
        field: &async_graphql::parser::types::Field,
        child: &Figures,
        plain: (u64, Cost),
    ) -> (u64, Cost) {
        match field.name.node.as_str() {
            name @ ("jobStatistics" | "jobStatisticsUpdated") => {
                let argument = |arg: &str| self.argument(doc, field, arg);
                let live = name == "jobStatisticsUpdated";
                let (buckets, groups) = cost::shape(argument, live, crate::db::now());
                let inside = child
                    .complexity
                    .saturating_add(child.statistics.at(buckets, groups));
                (inside.saturating_add(1), Cost::default())
            }
            "buckets" => (0, child.statistics.per_bucket(child.complexity)),
            "groups" => (0, child.statistics.per_group(child.complexity)),
            _ => plain,
        }
    }

    /// How many items a data list field may return, when it is one of the schema's lists with
    /// a size: `jobs(first|last)`, `nodes(ids)`, `jobInputs`.
    fn data_factor(
        &self,
        doc: &ExecutableDocument,
        field: &async_graphql::parser::types::Field,
    ) -> Option<u64> {
        match field.name.node.as_str() {
            // `JobFigures.jobs` is a number, not the history's connection.
            "jobs" if !field.selection_set.node.items.is_empty() => {
                let rows = ["first", "last"]
                    .iter()
                    .find_map(|arg| self.argument(doc, field, arg))
                    .and_then(|v| match v {
                        Value::Number(n) => n.as_i64(),
                        _ => None,
                    })
                    .unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
                Some(u64::try_from(rows).unwrap_or(0).max(1))
            }
            "nodes" => {
                let ids = self.argument(doc, field, "ids")?;
                Some(match ids {
                    Value::List(items) => u64::try_from(items.len()).unwrap_or(u64::MAX).max(1),
                    _ => 1,
                })
            }
            "jobInputs" => Some(INPUTS_PER_JOB),
            _ => None,
        }
    }

    /// The value of argument `name` of `field`, variables resolved (the request's, else the
    /// default an operation declares).
    fn argument(
        &self,
        doc: &ExecutableDocument,
        field: &async_graphql::parser::types::Field,
        name: &str,
    ) -> Option<Value> {
        let value = field.get_argument(name)?;
        value
            .node
            .clone()
            .into_const_with(|var| {
                if let Some(v) = self.variables.get(&var) {
                    return Ok(v.clone());
                }
                doc.operations
                    .iter()
                    .flat_map(|(_, op)| op.node.variable_definitions.iter())
                    .find(|def| def.node.name.node == var)
                    .and_then(|def| def.node.default_value().cloned())
                    .ok_or(())
            })
            .ok()
            .filter(|v| *v != Value::Null)
    }
}

/// The names of the fragments `set` spreads (directly or inside inline fragments and fields).
fn spread_names<'d>(set: &'d SelectionSet, out: &mut Vec<&'d str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spread_names(&f.node.selection_set.node, out),
            Selection::InlineFragment(i) => spread_names(&i.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn sizes() -> IntrospectionSizes {
        IntrospectionSizes::of_sdl(&crate::graphql::sdl())
    }

    fn measure(query: &str) -> Result<Figures, Unmeasurable> {
        let doc = parse_query(query).unwrap();
        let variables = Variables::default();
        let sizes = sizes();
        let m = Measure {
            sizes: &sizes,
            variables: &variables,
        };
        Ok(m.operations(&doc)?.remove(0).1)
    }

    #[test]
    fn fragments_are_measured_once_and_counted_per_use() {
        let f = measure(
            "{ viewer { ...A ...A } } \
             fragment A on Viewer { a: keyPrefix b: keyPrefix user { email } }",
        )
        .unwrap();
        assert_eq!(f.aliases, 4);
        assert_eq!(f.depth, 3);
        // viewer 1 + 2 × (spread 1 + a 1 + b 1 + user 2) = 11
        assert_eq!(f.complexity, 11);
    }

    #[test]
    fn doubling_fragments_saturate_instead_of_expanding() {
        let mut q = String::from("{ __schema { queryType { ...F0 } } }");
        for i in 0..200 {
            q.push_str(&format!(
                " fragment F{i} on __Type {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        q.push_str(" fragment F200 on __Type { name }");
        let f = measure(&q).unwrap();
        assert_eq!(f.introspection, u64::MAX);
        assert_eq!(f.complexity, 0);
    }

    #[test]
    fn list_fields_multiply() {
        let f = measure("{ jobs(first: 7) { nodes { id jobInputs { identifier } } } }").unwrap();
        // jobs: 7 × (nodes 1 + id 1 + jobInputs 5 × 1) = 49
        assert_eq!(f.complexity, 49);
        let f = measure(r#"{ nodes(ids: ["a", "b", "c"]) { id } }"#).unwrap();
        assert_eq!(f.complexity, 3);
        let doc = parse_query("query($n: Int = 4) { jobs(first: $n) { nodes { id } } }").unwrap();
        let sizes = sizes();
        let vars = Variables::default();
        let m = Measure {
            sizes: &sizes,
            variables: &vars,
        };
        assert_eq!(m.operations(&doc).unwrap()[0].1.complexity, 8);
        let vars = Variables::from_json(serde_json::json!({ "n": 50 }));
        let m = Measure {
            sizes: &sizes,
            variables: &vars,
        };
        assert_eq!(m.operations(&doc).unwrap()[0].1.complexity, 100);
    }

    #[test]
    fn unknown_fragments_and_cycles_are_refused() {
        assert_eq!(
            measure("{ viewer { ...Nope } }"),
            Err(Unmeasurable::UnknownFragment("Nope".into()))
        );
        let cycle = measure(
            "{ viewer { ...A } } fragment A on Viewer { ...B } fragment B on Viewer { ...A }",
        );
        assert_eq!(
            cycle,
            Err(Unmeasurable::FragmentCycle(vec!["A".into(), "B".into()]))
        );
    }

    #[test]
    fn introspection_sizes_come_from_the_schema() {
        let s = sizes();
        assert!(s.types > 30, "{s:?}");
        assert!(s.fields >= 20, "{s:?}");
        assert!(s.args >= 6, "jobs has 6 arguments: {s:?}");
    }
}
