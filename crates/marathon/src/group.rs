//! Group trees: `{id, apps, groups, dependencies, version}` with relative ids resolved, lookup,
//! insertion and removal of apps and groups, the app dependency graph (an app depends on its
//! own `dependencies` and on those of every enclosing group; a dependency naming a group means
//! every app below it) with cycle detection and dependency ordering.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::app::{from_value_with_path, AppDefinition, ParseError};
use crate::path::PathId;
use crate::validate::{validate_app, Violation, Violations};

/// Group tree problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Marathon's message; `cycle` lists app ids on one cycle.
    #[error("Dependency graph has cyclic dependencies.")]
    Cycle { cycle: Vec<PathId> },
    #[error("Group '{0}' does not exist")]
    NoGroup(PathId),
    #[error("App '{0}' does not exist")]
    NoApp(PathId),
    #[error("An app with id [{0}] already exists.")]
    AppExists(PathId),
    #[error("A group with id [{0}] already exists.")]
    GroupExists(PathId),
    #[error("the root group cannot be removed or replaced by an app")]
    Root,
}

/// A group node. Apps and subgroups are keyed by their absolute ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    pub id: PathId,
    pub apps: IdMap<AppDefinition>,
    pub groups: IdMap<Group>,
    /// Resolved (absolute) dependency ids.
    pub dependencies: Vec<PathId>,
    pub version: Option<String>,
}

impl Serialize for Group {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("apps", &self.apps.values().collect::<Vec<_>>())?;
        m.serialize_entry("groups", &self.groups.values().collect::<Vec<_>>())?;
        m.serialize_entry("pods", &Vec::<Value>::new())?;
        m.serialize_entry("dependencies", &self.dependencies)?;
        if let Some(v) = &self.version {
            m.serialize_entry("version", v)?;
        }
        m.end()
    }
}

fn parse_id_field(obj: &Map<String, Value>, path: &str) -> Result<Option<PathId>, ParseError> {
    match obj.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(PathId::parse(s))),
        Some(_) => Err(ParseError::new(format!("{path}/id"), "expected a string")),
    }
}

const GROUP_FIELDS: [&str; 6] = ["id", "apps", "groups", "dependencies", "version", "pods"];

impl Group {
    /// An empty group.
    pub fn empty(id: PathId) -> Self {
        Group {
            id,
            ..Group::default()
        }
    }

    /// The empty root group `/`.
    pub fn empty_root() -> Self {
        Group::empty(PathId::root())
    }

    /// Parses a group body as Marathon does for `POST /v2/groups/{base}`: a missing `id` means
    /// `base` itself, a relative one is resolved against `base`; apps and subgroups resolve
    /// their ids against their own group. Does not validate (see [`Group::validate`]).
    pub fn from_json(value: Value, base: &PathId) -> Result<Self, ParseError> {
        Self::parse_at(value, base, "", true)
    }

    fn parse_at(value: Value, base: &PathId, path: &str, top: bool) -> Result<Self, ParseError> {
        let Value::Object(obj) = value else {
            return Err(ParseError::new(
                if path.is_empty() { "/" } else { path },
                "expected a JSON object",
            ));
        };
        for k in obj.keys() {
            if !GROUP_FIELDS.contains(&k.as_str()) {
                return Err(ParseError::new(
                    format!("{path}/{k}"),
                    format!("unknown field `{k}`"),
                ));
            }
        }
        let id = match parse_id_field(&obj, path)? {
            Some(id) => id.canonical(base),
            None if top => base.clone(),
            None => return Err(ParseError::new(format!("{path}/id"), "error.path.missing")),
        };
        let mut group = Group::empty(id.clone());
        if let Some(Value::String(v)) = obj.get("version") {
            group.version = Some(v.clone());
        }
        if let Some(pods) = obj.get("pods") {
            if pods.as_array().is_some_and(|p| !p.is_empty()) {
                return Err(ParseError::new(
                    format!("{path}/pods"),
                    "pods are not supported",
                ));
            }
        }
        match obj.get("dependencies") {
            None | Some(Value::Null) => {}
            Some(Value::Array(deps)) => {
                for (i, d) in deps.iter().enumerate() {
                    let Some(s) = d.as_str() else {
                        return Err(ParseError::new(
                            format!("{path}/dependencies({i})"),
                            "expected a string",
                        ));
                    };
                    group.dependencies.push(PathId::parse(s).canonical(&id));
                }
            }
            Some(_) => {
                return Err(ParseError::new(
                    format!("{path}/dependencies"),
                    "expected an array",
                ))
            }
        }
        match obj.get("apps") {
            None | Some(Value::Null) => {}
            Some(Value::Array(apps)) => {
                for (i, a) in apps.iter().enumerate() {
                    let p = format!("{path}/apps({i})");
                    let app = AppDefinition::from_json(a.clone(), &id).map_err(|e| {
                        ParseError::new(format!("{p}{}", e.path.trim_end_matches('/')), e.message)
                    })?;
                    if group.apps.contains_key(&app.id) {
                        return Err(ParseError::new(
                            p,
                            format!("An app with id [{}] already exists.", app.id),
                        ));
                    }
                    group.apps.insert(app.id.clone(), app);
                }
            }
            Some(_) => return Err(ParseError::new(format!("{path}/apps"), "expected an array")),
        }
        match obj.get("groups") {
            None | Some(Value::Null) => {}
            Some(Value::Array(groups)) => {
                for (i, g) in groups.iter().enumerate() {
                    let p = format!("{path}/groups({i})");
                    let sub = Self::parse_at(g.clone(), &id, &p, false)?;
                    if group.groups.contains_key(&sub.id) {
                        return Err(ParseError::new(
                            p,
                            format!("A group with id [{}] already exists.", sub.id),
                        ));
                    }
                    group.groups.insert(sub.id.clone(), sub);
                }
            }
            Some(_) => {
                return Err(ParseError::new(
                    format!("{path}/groups"),
                    "expected an array",
                ))
            }
        }
        Ok(group)
    }

    /// Serializes to Marathon's group JSON (`apps`, `groups`, `pods`, `dependencies`, `version`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Every app in this group and below, keyed by id.
    pub fn transitive_apps(&self) -> BTreeMap<PathId, &AppDefinition> {
        let mut out = BTreeMap::new();
        self.collect_apps(&mut out);
        out
    }

    fn collect_apps<'a>(&'a self, out: &mut BTreeMap<PathId, &'a AppDefinition>) {
        for (id, a) in self.apps.iter() {
            out.insert(id.clone(), a);
        }
        for g in self.groups.values() {
            g.collect_apps(out);
        }
    }

    /// Every group in this tree (this one included), keyed by id.
    pub fn transitive_groups(&self) -> BTreeMap<PathId, &Group> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self];
        while let Some(g) = stack.pop() {
            out.insert(g.id.clone(), g);
            stack.extend(g.groups.values());
        }
        out
    }

    pub fn find_group(&self, id: &PathId) -> Option<&Group> {
        if *id == self.id {
            return Some(self);
        }
        self.groups
            .values()
            .find(|g| id.starts_with(&g.id))
            .and_then(|g| g.find_group(id))
    }

    fn find_group_mut(&mut self, id: &PathId) -> Option<&mut Group> {
        if *id == self.id {
            return Some(self);
        }
        self.groups
            .values_mut()
            .find(|g| id.starts_with(&g.id))
            .and_then(|g| g.find_group_mut(id))
    }

    pub fn find_app(&self, id: &PathId) -> Option<&AppDefinition> {
        self.find_group(&id.parent()).and_then(|g| g.apps.get(id))
    }

    /// Creates the group `id` (and missing ancestors) when absent; returns it.
    fn ensure_group(&mut self, id: &PathId) -> &mut Group {
        if *id == self.id {
            return self;
        }
        // `id` is below self: find or create the child on the way.
        let depth = self.id.segments().len() + 1;
        let Some(prefix) = id
            .segments()
            .get(..depth)
            .filter(|_| id.starts_with(&self.id))
        else {
            return self;
        };
        let child_id = PathId::from_segments(prefix.iter().cloned());
        self.groups
            .get_or_insert_with(child_id.clone(), || Group::empty(child_id))
            .ensure_group(id)
    }

    /// Inserts or replaces an app, creating missing groups on the way.
    pub fn put_app(&mut self, app: AppDefinition) -> Result<(), GroupError> {
        if app.id.is_root() {
            return Err(GroupError::Root);
        }
        if self.find_group(&app.id).is_some() {
            return Err(GroupError::GroupExists(app.id.clone()));
        }
        if !app.id.starts_with(&self.id) {
            return Err(GroupError::NoGroup(app.id.parent()));
        }
        let g = self.ensure_group(&app.id.parent());
        g.apps.insert(app.id.clone(), app);
        Ok(())
    }

    /// Removes an app; returns it.
    pub fn remove_app(&mut self, id: &PathId) -> Result<AppDefinition, GroupError> {
        self.find_group_mut(&id.parent())
            .and_then(|g| g.apps.remove(id))
            .ok_or_else(|| GroupError::NoApp(id.clone()))
    }

    /// Inserts or replaces the group subtree at `group.id`, creating missing ancestors.
    pub fn put_group(&mut self, group: Group) -> Result<(), GroupError> {
        if group.id == self.id {
            *self = group;
            return Ok(());
        }
        if !group.id.starts_with(&self.id) {
            return Err(GroupError::NoGroup(group.id.parent()));
        }
        if self.find_app(&group.id).is_some() {
            return Err(GroupError::AppExists(group.id.clone()));
        }
        let parent = self.ensure_group(&group.id.parent());
        parent.groups.insert(group.id.clone(), group);
        Ok(())
    }

    /// Removes a group subtree (not the root); returns it.
    pub fn remove_group(&mut self, id: &PathId) -> Result<Group, GroupError> {
        if id.is_root() || *id == self.id {
            return Err(GroupError::Root);
        }
        self.find_group_mut(&id.parent())
            .and_then(|g| g.groups.remove(id))
            .ok_or_else(|| GroupError::NoGroup(id.clone()))
    }

    /// Multiplies every app's instances below this group by `factor`, rounding up
    /// (`POST /v2/groups/{id}` with `{"scaleBy": f}`).
    pub fn scale_by(&mut self, factor: f64) {
        for a in self.apps.values_mut() {
            a.instances = (a.instances as f64 * factor).ceil().max(0.0) as i64;
        }
        for g in self.groups.values_mut() {
            g.scale_by(factor);
        }
    }

    /// Validates the tree: app rules (paths prefixed `/apps(i)`, `/groups(j)`), ids are direct
    /// children of their group, no id is both an app and a group, dependencies are acyclic.
    pub fn validate(&self) -> Vec<Violation> {
        let mut v = Violations::default();
        if let Err(e) = self.id.validate_segments() {
            v.push("/id", e.to_string());
        }
        self.validate_into(&mut v, "");
        let group_ids: BTreeSet<PathId> = self.transitive_groups().into_keys().collect();
        for id in self.transitive_apps().keys() {
            if group_ids.contains(id) {
                v.push(
                    "/",
                    format!("Groups and Applications may not have the same identifier: {id}"),
                );
            }
        }
        if let Err(e) = self.dependency_graph().topological_order() {
            v.push("/", e.to_string());
        }
        v.into_vec()
    }

    fn validate_into(&self, v: &mut Violations, prefix: &str) {
        for (i, app) in self.apps.values().enumerate() {
            let p = format!("{prefix}/apps({i})");
            if let Err(e) = app.id.check_child_of(&self.id) {
                v.push(format!("{p}/id"), e.to_string());
            }
            v.extend_prefixed(&p, validate_app(app));
        }
        for (i, g) in self.groups.values().enumerate() {
            let p = format!("{prefix}/groups({i})");
            if let Err(e) = g.id.check_child_of(&self.id) {
                v.push(format!("{p}/id"), e.to_string());
            }
            if let Err(e) = g.id.validate_segments() {
                v.push(format!("{p}/id"), e.to_string());
            }
            g.validate_into(v, &p);
        }
    }

    /// The dependency graph of all apps in this tree.
    pub fn dependency_graph(&self) -> DependencyGraph {
        let apps = self.transitive_apps();
        let groups = self.transitive_groups();
        let mut edges: BTreeMap<PathId, BTreeSet<PathId>> = BTreeMap::new();
        let targets = |dep: &PathId| -> Vec<PathId> {
            if apps.contains_key(dep) {
                vec![dep.clone()]
            } else if let Some(g) = groups.get(dep) {
                g.transitive_apps().into_keys().collect()
            } else {
                Vec::new()
            }
        };
        for (id, app) in &apps {
            let mut deps: Vec<PathId> = app.dependency_ids();
            for anc in id.ancestors() {
                if let Some(g) = groups.get(&anc) {
                    deps.extend(g.dependencies.iter().cloned());
                }
            }
            let set = edges.entry(id.clone()).or_default();
            for d in deps {
                for t in targets(&d) {
                    if t != *id {
                        set.insert(t);
                    }
                }
            }
        }
        DependencyGraph { edges }
    }

    /// Copies `version`/`versionInfo` from `previous` for apps that did not change and stamps
    /// new or changed apps (and every group) with `now`.
    pub fn stamp_versions(&mut self, previous: &Group, now: &str) {
        let prev = previous.transitive_apps();
        self.stamp_rec(&prev, now);
    }

    fn stamp_rec(&mut self, prev: &BTreeMap<PathId, &AppDefinition>, now: &str) {
        for (id, app) in self.apps.iter_mut() {
            match prev.get(id) {
                Some(p)
                    if !p.is_upgrade(app)
                        && p.instances == app.instances
                        && (app.version_info.is_none() || app.version_info == p.version_info) =>
                {
                    app.version = p.version.clone();
                    app.version_info = p.version_info.clone();
                }
                Some(p) => app.stamp_version(Some(p), now),
                None => app.stamp_version(None, now),
            }
        }
        self.version = Some(now.to_string());
        for g in self.groups.values_mut() {
            g.stamp_rec(prev, now);
        }
    }
}

/// An insertion-ordered map keyed by id: apps and groups keep the order they were given in
/// (so violation paths like `/apps(2)` point at the right element); replacing keeps the
/// position, new entries go last.
#[derive(Debug, Clone, PartialEq)]
pub struct IdMap<T> {
    entries: Vec<(PathId, T)>,
}

impl<T> Default for IdMap<T> {
    fn default() -> Self {
        IdMap {
            entries: Vec::new(),
        }
    }
}

impl<T> IdMap<T> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    fn position(&self, id: &PathId) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == id)
    }
    pub fn contains_key(&self, id: &PathId) -> bool {
        self.position(id).is_some()
    }
    pub fn get(&self, id: &PathId) -> Option<&T> {
        self.entries.iter().find(|(k, _)| k == id).map(|(_, v)| v)
    }
    pub fn get_mut(&mut self, id: &PathId) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v)
    }
    /// Inserts or replaces (in place); returns the replaced value.
    pub fn insert(&mut self, id: PathId, value: T) -> Option<T> {
        match self.position(&id) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((id, value));
                None
            }
        }
    }
    pub fn remove(&mut self, id: &PathId) -> Option<T> {
        let i = self.position(id)?;
        Some(self.entries.remove(i).1)
    }
    pub fn get_or_insert_with(&mut self, id: PathId, make: impl FnOnce() -> T) -> &mut T {
        let i = match self.position(&id) {
            Some(i) => i,
            None => {
                self.entries.push((id, make()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }
    pub fn keys(&self) -> impl Iterator<Item = &PathId> {
        self.entries.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, v)| v)
    }
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&PathId, &T)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&PathId, &mut T)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }
}

/// App dependency graph: `edges[a]` = the apps `a` depends on (must run before it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DependencyGraph {
    pub edges: BTreeMap<PathId, BTreeSet<PathId>>,
}

impl DependencyGraph {
    /// Apps ordered so that every app comes after all of its dependencies (ties by id), or the
    /// cycle that prevents it.
    pub fn topological_order(&self) -> Result<Vec<PathId>, GroupError> {
        // 0 = unvisited, 1 = on stack, 2 = done
        let mut state: BTreeMap<&PathId, u8> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.edges.len());
        for start in self.edges.keys() {
            if state.get(start).copied().unwrap_or(0) != 0 {
                continue;
            }
            // iterative DFS: (node, iterator over its deps)
            let mut stack: Vec<(&PathId, Vec<&PathId>)> = vec![(start, self.deps_of(start))];
            state.insert(start, 1);
            while let Some((node, pending)) = stack.last_mut() {
                if let Some(next) = pending.pop() {
                    match state.get(next).copied().unwrap_or(0) {
                        0 => {
                            state.insert(next, 1);
                            let deps = self.deps_of(next);
                            stack.push((next, deps));
                        }
                        1 => {
                            let pos = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                            let cycle = stack[pos..].iter().map(|(n, _)| (*n).clone()).collect();
                            return Err(GroupError::Cycle { cycle });
                        }
                        _ => {}
                    }
                } else {
                    let n = *node;
                    state.insert(n, 2);
                    out.push(n.clone());
                    stack.pop();
                }
            }
        }
        Ok(out)
    }

    fn deps_of(&self, id: &PathId) -> Vec<&PathId> {
        // reversed so that popping visits dependencies in id order
        self.edges
            .get(id)
            .map(|s| s.iter().rev().collect())
            .unwrap_or_default()
    }

    /// For every app, the number of apps on its longest dependency chain (itself included):
    /// 1 for an app without dependencies. Marathon groups deployment steps by this number.
    pub fn longest_path_lengths(&self) -> Result<BTreeMap<PathId, usize>, GroupError> {
        let order = self.topological_order()?;
        let mut len: BTreeMap<PathId, usize> = BTreeMap::new();
        for id in order {
            let l = 1 + self
                .edges
                .get(&id)
                .map(|deps| {
                    deps.iter()
                        .filter_map(|d| len.get(d))
                        .copied()
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            len.insert(id, l);
        }
        Ok(len)
    }
}

/// What a group update body (`PUT /v2/groups/{id}`) asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupUpdate {
    /// `{"scaleBy": f}`: scale every app below the group.
    ScaleBy(f64),
    /// `{"version": "..."}`: roll the group back to that stored version.
    Rollback(String),
    /// The new group subtree.
    Replace(Group),
}

/// Applies a group update body to `current` (None when creating): `apps`, `groups` and
/// `dependencies` given in the body replace the group's; fields left out are kept.
pub fn apply_group_update(
    current: Option<&Group>,
    id: &PathId,
    body: Value,
) -> Result<GroupUpdate, ParseError> {
    let Value::Object(mut obj) = body else {
        return Err(ParseError::new("/", "expected a JSON object"));
    };
    if let Some(s) = obj.remove("scaleBy") {
        if obj.keys().any(|k| k != "id") {
            return Err(ParseError::new(
                "/",
                "scaleBy may only be combined with the 'id' field",
            ));
        }
        let f = s
            .as_f64()
            .filter(|f| *f >= 0.0)
            .ok_or_else(|| ParseError::new("/scaleBy", "expected a number >= 0"))?;
        return Ok(GroupUpdate::ScaleBy(f));
    }
    if let Some(v) = obj.get("version") {
        if obj.keys().any(|k| k != "id" && k != "version") {
            return Err(ParseError::new(
                "/",
                "The 'version' field may only be combined with the 'id' field.",
            ));
        }
        let s: String = from_value_with_path(v.clone())?;
        return Ok(GroupUpdate::Rollback(s));
    }
    if let Some(Value::String(given)) = obj.get("id") {
        if PathId::parse(given).canonical(&id.parent()) != *id
            && PathId::parse(given).canonical(id) != *id
        {
            return Err(ParseError::new(
                "/id",
                format!("The id in the body ({given}) does not match the path ({id})"),
            ));
        }
    }
    obj.insert("id".into(), Value::String(id.to_string()));
    let has_apps = obj.contains_key("apps");
    let has_groups = obj.contains_key("groups");
    let has_deps = obj.contains_key("dependencies");
    let parsed = Group::from_json(Value::Object(obj), id)?;
    let mut next = match current {
        Some(c) => c.clone(),
        None => Group::empty(id.clone()),
    };
    if has_apps {
        next.apps = parsed.apps;
    }
    if has_groups {
        next.groups = parsed.groups;
    }
    if has_deps {
        next.dependencies = parsed.dependencies;
    }
    Ok(GroupUpdate::Replace(next))
}

#[cfg(test)]
mod tests;
