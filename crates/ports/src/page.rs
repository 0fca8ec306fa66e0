use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A keyset position: the id of the last item of the previous page. Ids are UUID v7, so they
/// sort by creation time and a page costs the same wherever it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub Uuid);

/// Which page to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (the HTTP layer bounds it).
    pub limit: u32,
    /// Start after this item; `None` for the first page.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` items.
    #[must_use]
    pub const fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` at the end.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row, if present,
    /// only proves there is a next page and is dropped.
    #[must_use]
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> Uuid) -> Self {
        let limit = limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more { rows.last().map(|last| Cursor(id_of(last))) } else { None };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overfetch_sets_the_cursor_only_when_more_rows_exist() {
        let ids: Vec<Uuid> = (1..=3).map(Uuid::from_u128).collect();
        let page = Page::from_overfetch(ids.clone(), 2, |id| *id);
        assert_eq!(page.items, ids[..2]);
        assert_eq!(page.next_cursor, Some(Cursor(ids[1])));
        let last = Page::from_overfetch(ids[..2].to_vec(), 2, |id| *id);
        assert_eq!(last.next_cursor, None);
    }
}
