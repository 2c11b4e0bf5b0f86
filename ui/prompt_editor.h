#pragma once
// The prompt editor: a form (one card per character, a general-tags section) and the XML text, kept
// in sync both ways. A view over a prompt::Document: form edits change a copy of the parsed document
// (so unknown elements survive) and regenerate the canonical XML; XML edits are re-parsed after a
// short pause and, when free of errors, update the form. Form edits are undoable (QUndoStack).
#include "charaforge/prompt/prompt.h"
#include "ui/tag_vocabulary.h"

#include <QLineEdit>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

class QCompleter;
class QEvent;
class QFrame;
class QGroupBox;
class QKeyEvent;
class QListWidget;
class QListWidgetItem;
class QMenu;
class QMimeData;
class QPlainTextEdit;
class QStringListModel;
class QTabWidget;
class QTimer;
class QUndoStack;
class QVBoxLayout;

namespace charaforge::ui {

// A line of comma-separated tags whose completer completes the tag after the last comma.
class TagLineEdit : public QLineEdit {
    Q_OBJECT
public:
    explicit TagLineEdit(QWidget* parent = nullptr);
    void setVocabulary(const QStringList& tags);
    QCompleter* tagCompleter() const { return m_completer; }

Q_SIGNALS:
    // The user changed the tags (typing or accepting a completion); not emitted by setText().
    void tagsEdited();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void updateCompletion();
    void insertCompletion(const QString& tag);

    QCompleter* m_completer = nullptr;
    QStringListModel* m_model = nullptr;
};

// A tag field shown as removable chips followed by an input line with the field's completion.
// Typing a comma or pressing Enter turns the typed text into a chip, Backspace in an empty input
// removes the last chip and a chip's x button removes it. The value is the chips plus the typed text.
class TagChipEdit : public QWidget {
    Q_OBJECT
public:
    explicit TagChipEdit(QWidget* parent = nullptr);
    void setVocabulary(const QStringList& tags);
    void setPlaceholderText(const QString& text);
    QCompleter* tagCompleter() const { return m_input->tagCompleter(); }
    TagLineEdit* input() const { return m_input; }

    // The tags (chips, then the typed text) joined by ", ".
    QString text() const;
    prompt::TagList tags() const;
    // Replaces the chips and clears the input; does not emit tagsEdited().
    void setText(const QString& text);
    // The tags shown as chips.
    QStringList chipTags() const;
    // Removes chip `index` as the user would (emits tagsEdited()).
    void removeChip(int index);

Q_SIGNALS:
    // The user changed the tags; not emitted by setText().
    void tagsEdited();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void addChip(const QString& tag);
    void clearChips();
    // Turns the complete tags typed in the input (those followed by a comma) into chips.
    void takeInput(bool all);

    TagLineEdit* m_input = nullptr;
    std::vector<QFrame*> m_chips;
};

class PromptEditor : public QWidget {
    Q_OBJECT
public:
    // `libraryDir` empty: QStandardPaths::AppDataLocation + "/characters".
    explicit PromptEditor(QWidget* parent = nullptr, const QString& libraryDir = QString(),
                          const QString& vocabularyUserDir = TagVocabulary::defaultUserDir());

    // The XML text as shown (verbatim after setXml(); canonical after a form edit).
    QString xml() const;
    // Replaces the prompt (not undoable: clears the undo stack).
    void setXml(const QString& text);
    // The document the form shows: the last text parsed without errors.
    prompt::Document document() const;
    QUndoStack* undoStack() const { return m_undo; }

    void setLibraryDir(const QString& dir);
    QString libraryDir() const { return m_libraryDir; }
    // Writes character `row` (0-based) as a canonical one-character snippet; returns its path or "".
    QString saveCharacterToLibrary(int row, const QString& name = QString());
    // The library's snippet files (absolute paths), sorted by name.
    QStringList libraryEntries() const;
    // Appends the snippet's first character; false when it cannot be read or holds no character.
    bool insertFromLibrary(const QString& path);

    // Form operations (also behind the buttons); each is one undo step.
    void addCharacter();
    void duplicateCharacter(int row);
    void removeCharacter(int row);
    void moveCharacter(int row, int delta);
    // Moves character `from` to position `to` (both 0-based), renumbering like moveCharacter().
    void moveCharacterTo(int from, int to);

    // The mime type of a dragged character card (its 0-based row as text).
    static QString characterMimeType();
    // Handles a character card dropped on card `targetRow`; false when `mime` is not a card.
    bool dropCharacter(const QMimeData* mime, int targetRow);

    // Re-parses pending XML edits now instead of after the debounce.
    void flushXml();
    // Diagnostics currently shown, as "line:col: severity: message".
    QStringList diagnosticTexts() const;

Q_SIGNALS:
    void changed();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    friend class DocumentCommand;
    // Sets the document from a form edit or an undo step; rewrites the XML when `writeXml`.
    void applyDocument(const prompt::Document& doc, bool writeXml);
    void pushDocument(const prompt::Document& after, const QString& text, const QString& mergeKey = QString());
    void rebuildForm();
    void refreshForm();
    void reparseXml();
    void showDiagnostics(const std::vector<prompt::Diagnostic>& diagnostics);
    void jumpToDiagnostic(QListWidgetItem* item);
    void populateLibraryMenu();
    prompt::Document editableDocument() const;
    TagChipEdit* makeField(QWidget* parent, const QString& field, const QString& objectName);

    QTabWidget* m_tabs = nullptr;
    QWidget* m_cardsHost = nullptr;
    QVBoxLayout* m_cardsLayout = nullptr;
    std::vector<QGroupBox*> m_cards;
    std::vector<std::vector<TagChipEdit*>> m_characterEdits; // [row][field]
    std::vector<TagChipEdit*> m_generalEdits;
    QPlainTextEdit* m_xmlEdit = nullptr;
    QListWidget* m_diagnostics = nullptr;
    QTimer* m_reparseTimer = nullptr;
    QUndoStack* m_undo = nullptr;
    QMenu* m_libraryMenu = nullptr;
    TagVocabulary m_vocabulary;
    QString m_libraryDir;
    prompt::Document m_doc;
    bool m_updating = false;
};

} // namespace charaforge::ui
