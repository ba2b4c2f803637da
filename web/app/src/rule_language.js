// tailor's rule language (docs/rule_language.md) for CodeMirror 6: highlighting by a stream
// tokenizer (the lexer's words, strings, numbers, operators), completion of the schema's trait
// names, event types, item attributes, segments and the language's functions, and the server's
// errors ("rule: 2:7: expected ...") as diagnostics at their line and column.
import { StreamLanguage, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';

// The lexer's keywords (src/segments/lexer.cc).
export const KEYWORDS = [
  'and', 'or', 'not', 'in', 'true', 'false', 'segment', 'between', 'contains', 'starts_with',
  'exists', 'missing', 'within', 'last', 'first', 'before', 'after', 'ago', 'of', 'km', 'where',
  'any', 'followed', 'by', 'count', 'sum', 'avg', 'min', 'max', 'distinct', 'ever', 'never',
  'location', 'minute', 'minutes', 'hour', 'hours', 'day', 'days', 'week', 'weeks',
];
const FUNCTIONS = [
  ['count', 'count(purchase, last 30 days) >= 1', 'events of a type'],
  ['sum', 'sum(purchase.value, last 90 days) > 100', 'sum of a field'],
  ['avg', 'avg(purchase.value) > 50', 'average of a field'],
  ['min', 'min(purchase.value) > 10', 'smallest value'],
  ['max', 'max(purchase.value) > 10', 'largest value'],
  ['distinct', 'distinct(purchase.category, last 90 days) >= 3', 'distinct values'],
  ['ever', 'ever(purchase where category = "golf")', 'at least one event'],
  ['never', 'never(purchase)', 'no such event'],
  ['first', 'first(purchase) within last 60 days', 'time of the first event'],
  ['last', 'last(page_view) before 30 days ago', 'time of the latest event'],
  ['affinity', 'affinity("golf") > 0.6', 'decayed interest in a category'],
  ['open_rate', 'open_rate("email") > 0.2', 'share of messages opened'],
  ['click_rate', 'click_rate("email") > 0.05', 'share of messages clicked'],
  ['location', 'location within 10 km of (48.85, 2.35)', 'distance from a place'],
  ['in segment', 'in segment "vip"', 'member of another segment'],
];
const OPERATORS = /^(>=|<=|!=|=|<|>|\(|\)|,|\[|\]|\.)/;

export const ruleLanguage = StreamLanguage.define({
  name: 'tailor-rule',
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match('#') || stream.match('--')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return 'string';
    if (stream.match(/^-?\d+(\.\d+)?/)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current().toLowerCase();
      if (word === 'true' || word === 'false') return 'bool';
      if (stream.peek() === '(') return 'variableName.function';
      return KEYWORDS.includes(word) ? 'keyword' : 'variableName';
    }
    if (stream.match(OPERATORS)) return 'operator';
    stream.next();
    return 'invalid';
  },
  languageData: { commentTokens: { line: '#' } },
});

export const ruleHighlight = syntaxHighlighting(HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--syntax-keyword)', fontWeight: '600' },
  { tag: tags.function(tags.variableName), color: 'var(--syntax-function)' },
  { tag: tags.string, color: 'var(--syntax-string)' },
  { tag: tags.number, color: 'var(--syntax-number)' },
  { tag: tags.bool, color: 'var(--syntax-number)' },
  { tag: tags.variableName, color: 'var(--syntax-name)' },
  { tag: tags.comment, color: 'var(--text-muted)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--bad)' },
]));

// Completions from the schema (GET /v1/schema): traits with their types, event types, item
// attributes, segment names, then the language's functions and keywords.
export function ruleCompletions(schema) {
  const options = [];
  for (const trait of schema?.traits ?? []) {
    options.push({ label: trait.name, type: 'variable', detail: trait.type, boost: 3 });
  }
  for (const type of schema?.event_types ?? []) {
    options.push({ label: type, type: 'type', detail: 'event type', boost: 2 });
  }
  for (const attribute of schema?.item_attributes ?? []) {
    options.push({ label: `item.${attribute}`, type: 'property', detail: 'item attribute', boost: 1 });
  }
  for (const name of schema?.segments ?? []) {
    options.push({ label: `in segment "${name}"`, type: 'class', detail: 'segment', boost: 1 });
  }
  for (const [name, example, info] of FUNCTIONS) {
    options.push({ label: name, type: 'function', detail: example, info,
      apply: name.includes(' ') ? `${name} ` : `${name}(` });
  }
  for (const word of KEYWORDS) {
    if (!FUNCTIONS.some(([name]) => name === word)) options.push({ label: word, type: 'keyword', boost: -1 });
  }
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_.]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return { from: word.from, options, validFor: /^[A-Za-z0-9_.]*$/ };
  };
}

// An API error about a rule ({path: "$.rule" or "$.exclude", message "2:7: expected ..."}) →
// {field, line, column, message}; null for an error without a position.
export function parseRuleError(error) {
  const field = { '$.rule': 'rule', '$.exclude': 'exclude' }[error?.path];
  const found = /^(?:(rule|exclude):\s*)?(\d+):(\d+):\s*(.*)$/s.exec(error?.message ?? '');
  if (!found || !(field || found[1])) return null;
  return { field: found[1] ?? field, line: Number(found[2]), column: Number(found[3]), message: found[4] };
}

// The diagnostic for an error at line:column (1-based) of `doc`: the rest of the word there.
export function diagnosticAt(doc, line, column, message) {
  const at = Math.min(Math.max(line, 1), doc.lines);
  const text = doc.line(at);
  const from = Math.min(text.from + Math.max(column - 1, 0), text.to);
  let to = from;
  while (to < text.to && /[A-Za-z0-9_."]/.test(doc.sliceString(to, to + 1))) to++;
  return { from, to: Math.max(to, Math.min(from + 1, doc.length)), severity: 'error', message };
}
