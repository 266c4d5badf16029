//! Ordered collections, paged the way Mastodon reads them: the collection
//! gives `totalItems` and `first`; each page lists its items and links on.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    total_items: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ordered_items: Option<Vec<Value>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    part_of: String,
    total_items: i64,
    ordered_items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

pub fn page_url(collection: &str, page: i64) -> String {
    format!("{collection}?page={page}")
}

/// A collection that links to its pages (`first`, `last`).
pub fn paged(id: &str, total: i64, per_page: i64) -> OrderedCollection {
    let pages = ((total + per_page - 1) / per_page).max(1);
    OrderedCollection {
        id: id.to_string(),
        kind: "OrderedCollection",
        total_items: total,
        first: Some(page_url(id, 1)),
        last: Some(page_url(id, pages)),
        ordered_items: None,
    }
}

/// A collection whose members are not listed, only counted.
pub fn counted(id: &str, total: i64) -> OrderedCollection {
    OrderedCollection {
        id: id.to_string(),
        kind: "OrderedCollection",
        total_items: total,
        first: None,
        last: None,
        ordered_items: None,
    }
}

/// A collection with no members at all (nothing followed, nothing pinned).
pub fn empty(id: &str) -> OrderedCollection {
    OrderedCollection {
        ordered_items: Some(Vec::new()),
        ..counted(id, 0)
    }
}

pub fn page(
    collection: &str,
    page: i64,
    per_page: i64,
    total: i64,
    items: Vec<Value>,
) -> OrderedCollectionPage {
    let pages = ((total + per_page - 1) / per_page).max(1);
    OrderedCollectionPage {
        id: page_url(collection, page),
        kind: "OrderedCollectionPage",
        part_of: collection.to_string(),
        total_items: total,
        ordered_items: items,
        next: (page < pages).then(|| page_url(collection, page + 1)),
        prev: (page > 1).then(|| page_url(collection, page - 1)),
    }
}
