// A rule-language editor (CodeMirror 6): highlighting, completion from the schema, the server's
// errors inline (`errors`: [{line, column, message}]), keyboard first (Tab moves focus on, as in
// any form field; Ctrl-Space completes).
import { autocompletion, closeBrackets, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching } from '@codemirror/language';
import { linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, placeholder as placeholderText } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';
import { diagnosticAt, ruleCompletions, ruleHighlight, ruleLanguage } from './rule_language.js';

// `value` is the text; `onChange` gets every edit; `revision` changes when the parent replaces the
// text itself.
export function RuleEditor({ value, revision = 0, onChange, schema, errors = [], label, id, placeholder = '' }) {
  const host = useRef(null);
  const view = useRef(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    const state = EditorState.create({
      doc: value,
      extensions: [
        lineNumbers(),
        history(),
        bracketMatching(),
        closeBrackets(),
        ruleLanguage,
        ruleHighlight,
        autocompletion({ override: [ruleCompletions(schema)] }),
        linter(null),
        lintGutter(),
        placeholderText(placeholder),
        keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': label, id: id ?? '' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) changed.current(update.state.doc.toString());
        }),
      ],
    });
    view.current = new EditorView({ state, parent: host.current });
    return () => view.current.destroy();
  }, [schema]);

  // A value set from outside (the visual builder, a definition loaded) replaces the text when
  // the parent says so by changing `revision`. Not on every `value`: effects run after paint, by
  // when the person may have typed on, so an echo of their own typing would undo their keys.
  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [revision]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const doc = editor.state.doc;
    editor.dispatch(setDiagnostics(editor.state,
      errors.map((e) => diagnosticAt(doc, e.line, e.column, e.message))));
  }, [errors, value]);

  return <div class="rule-editor" ref={host} />;
}
