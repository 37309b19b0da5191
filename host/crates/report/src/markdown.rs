//! The Markdown report of one run (`<run-id>.md`): readable on a PR page or in an audit file, with the
//! picture (`<run-id>.png`, written beside it) embedded.
//!
//! Only facts from the [`Account`]; every value from the trace is escaped for a table cell or put in a code
//! span, so a payload or a node name cannot inject Markdown.

use std::fmt::Write as _;

use crate::account::{Account, Fix};
use crate::graph::group_digits;

/// The most bytes of one value (a message, a key, an outcome) the report shows; the trace has it whole.
const MAX_CELL_BYTES: usize = 1024;

/// Cut to [`MAX_CELL_BYTES`], control characters escaped, no pipes, no line breaks.
fn plain(s: &str) -> String {
    let s = sealed_snapshot::quote::truncate(s, MAX_CELL_BYTES);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A table cell or prose value: [`plain`], and HTML and Markdown syntax characters escaped, so that a
/// guest's message can neither inject an HTML element (`<img onerror=…>`) nor a link or emphasis.
fn cell(s: &str) -> String {
    let s = plain(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '[' | ']' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span that survives backticks in its content (HTML is not interpreted inside one).
fn code(s: &str) -> String {
    let s = plain(s);
    let mut fence = "`".to_string();
    while s.contains(fence.as_str()) {
        fence.push('`');
    }
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The Markdown report.
pub fn markdown(a: &Account) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Run {} — workflow {} — **{}** ({})\n",
        code(&a.run_id),
        code(&a.workflow),
        cell(&a.status),
        a.end.as_str()
    );
    let _ = writeln!(s, "| | |\n|---|---|");
    let snapshot = match (&a.snapshot.name, &a.snapshot.digest) {
        (Some(n), Some(d)) => format!("{} {}", code(n), code(&format!("sha256:{d}"))),
        _ => "not verified".to_string(),
    };
    let _ = writeln!(s, "| snapshot | {snapshot} (trust: {}) |", cell(&a.snapshot.trust));
    let _ = writeln!(s, "| status | {} |", cell(&a.status));
    if let Some(t) = &a.terminal {
        let _ = writeln!(s, "| terminal | {} |", code(t));
    }
    let _ = writeln!(
        s,
        "| committed | {} |",
        if a.committed {
            "yes"
        } else {
            "no — the store is unchanged"
        }
    );
    let _ = writeln!(s, "| fuel used | {} |", group_digits(a.fuel_used_total));
    let _ = writeln!(
        s,
        "| storage calls | {} ({} write(s), {} refused) |",
        a.storage.calls, a.storage.writes, a.storage.refused
    );
    let _ = writeln!(
        s,
        "| trace | {} lines, hash chain verified; chain head {} (its signature: `host verify`) |\n",
        a.trace.lines,
        code(&a.trace.chain_head)
    );

    let _ = writeln!(s, "![workflow graph with the path taken]({}.png)\n", a.run_id);

    let _ = writeln!(s, "## Path\n");
    match &a.admission {
        Some(ad) if ad.ok => {
            let _ = writeln!(s, "The payload passed the admission schema.\n");
        }
        Some(ad) => {
            let _ = writeln!(
                s,
                "The admission schema **refused** the payload ({} problem(s)); no node ran.\n",
                ad.errors.len()
            );
            let _ = writeln!(s, "| field | keyword | problem |\n|---|---|---|");
            for e in &ad.errors {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    code(&e.field),
                    cell(&e.keyword),
                    cell(&e.message)
                );
            }
            s.push('\n');
        }
        None => {
            let _ = writeln!(s, "The run was refused before admission; no node ran.\n");
        }
    }
    if !a.path.is_empty() {
        let _ = writeln!(
            s,
            "| # | node | kind | component | outcome | next | fuel used | storage calls |\n|---|---|---|---|---|---|---|---|"
        );
        for st in &a.path {
            let comp = st
                .component_name
                .clone()
                .unwrap_or_else(|| format!("sha256:{}…", st.component.chars().take(12).collect::<String>()));
            let fuel = match st.fuel_limit {
                Some(l) => format!("{} / {}", group_digits(st.fuel_used), group_digits(l)),
                None => group_digits(st.fuel_used),
            };
            let outcome = match (&st.outcome, &st.error) {
                (Some(o), _) => code(o),
                (None, Some(e)) => format!("**{}**", cell(e)),
                (None, None) => "—".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                st.index,
                code(&st.node),
                cell(&st.kind),
                cell(&comp),
                outcome,
                st.next.as_deref().map(code).unwrap_or_else(|| "—".into()),
                fuel,
                st.storage.len()
            );
        }
        s.push('\n');
    }
    if let Some(t) = &a.terminal {
        let _ = writeln!(
            s,
            "Ended at terminal {} with status **{}**.\n",
            code(t),
            cell(&a.status)
        );
    }

    let effects: Vec<_> = a
        .path
        .iter()
        .flat_map(|st| st.storage.iter().map(move |e| (st, e)))
        .collect();
    if !effects.is_empty() {
        let _ = writeln!(s, "## Storage effects\n");
        if !a.committed {
            let _ = writeln!(s, "The run did not commit: none of these writes reached the store.\n");
        }
        let _ = writeln!(s, "| node | op | label | key | result |\n|---|---|---|---|---|");
        for (st, e) in effects {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                code(&st.node),
                code(&e.op),
                code(&e.label),
                code(&e.key),
                cell(&e.result)
            );
        }
        s.push('\n');
    }

    if let Some(f) = &a.failure {
        let _ = writeln!(s, "## Failure\n");
        let at = f
            .node
            .as_deref()
            .map(|n| format!(" at node {}", code(n)))
            .unwrap_or_default();
        let _ = writeln!(s, "**{}**{at}: {}\n", cell(&f.code), cell(&f.message));
        if !f.deterministic {
            let _ = writeln!(
                s,
                "This failure depends on the machine (not only on the inputs): a replay may not reproduce it.\n"
            );
        }
        if let Some(h) = &f.hint {
            let _ = writeln!(s, "**What to change:** {}\n", h.replace(['\n', '\r'], " "));
        }
        if let Some(Fix::Grant { node, grant, .. }) = &f.fix {
            let _ = writeln!(
                s,
                "Add to the `grants` of node {} in the source declaration:\n\n```json\n{grant}\n```\n",
                code(node)
            );
        }
    }
    s
}
