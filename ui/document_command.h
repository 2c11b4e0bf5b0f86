#pragma once
// One undo step of the prompt editor: the whole document before and after. Steps with the same
// non-empty merge key (typing in one field) merge into one.
#include "charaforge/prompt/prompt.h"

#include <QString>
#include <QUndoCommand>

namespace charaforge::ui {

class PromptEditor;

class DocumentCommand : public QUndoCommand {
public:
    DocumentCommand(PromptEditor* editor, prompt::Document before, prompt::Document after, const QString& text,
                    QString mergeKey, bool writeXmlFirst);

    void redo() override;
    void undo() override;
    int id() const override;
    bool mergeWith(const QUndoCommand* other) override;

private:
    PromptEditor* m_editor;
    prompt::Document m_before;
    prompt::Document m_after;
    QString m_mergeKey;
    bool m_writeXmlFirst;
    bool m_first = true;
};

} // namespace charaforge::ui
