#include "ui/document_command.h"

#include "ui/prompt_editor.h"

namespace charaforge::ui {

DocumentCommand::DocumentCommand(PromptEditor* editor, prompt::Document before, prompt::Document after,
                                 const QString& text, QString mergeKey, bool writeXmlFirst)
    : QUndoCommand(text), m_editor(editor), m_before(std::move(before)), m_after(std::move(after)),
      m_mergeKey(std::move(mergeKey)), m_writeXmlFirst(writeXmlFirst) {}

void DocumentCommand::redo() {
    m_editor->applyDocument(m_after, m_writeXmlFirst || !m_first);
    m_first = false;
}

void DocumentCommand::undo() {
    m_editor->applyDocument(m_before, true);
}

int DocumentCommand::id() const {
    return m_mergeKey.isEmpty() ? -1 : 1;
}

bool DocumentCommand::mergeWith(const QUndoCommand* other) {
    const auto* o = static_cast<const DocumentCommand*>(other);
    if (o->m_mergeKey != m_mergeKey)
        return false;
    m_after = o->m_after;
    return true;
}

} // namespace charaforge::ui
