#pragma once
// The prompt editor: a form (one card per character, a general-tags section) and the XML text, kept
// in sync both ways. A view over a prompt::Document: form edits change a copy of the parsed document
// (so unknown elements survive) and regenerate the canonical XML; XML edits are re-parsed after a
// short pause and, when free of errors, update the form. Form edits are undoable (QUndoStack).
#include "charaforge/prompt/prompt.h"
#include "ui/character_library.h"
#include "ui/tag_chip_edit.h"
#include "ui/tag_vocabulary.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QMenu;
class QMimeData;
class QPlainTextEdit;
class QScrollArea;
class QTabWidget;
class QTimer;
class QUndoStack;
class QVBoxLayout;

namespace charaforge::ui {

class CharacterCard;

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
    QString libraryDir() const;
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

    // The first error of the current XML text ("3:5: unclosed <character_1>"), or "" when it parses.
    QString firstError() const;
    // The canonical form of the current text (what the command line queues for it); "" while it has errors.
    QString canonicalXml() const;

Q_SIGNALS:
    void changed();
    // After every parse of the text: whether it has errors (Add to queue is blocked while it has).
    void validityChanged(bool hasErrors);

private:
    friend class DocumentCommand;
    // Sets the document from a form edit or an undo step; rewrites the XML when `writeXml`.
    void applyDocument(const prompt::Document& doc, bool writeXml);
    // Pushes a form edit. Count tags the form derived (prompt::count_tags of the characters) follow the
    // characters' genders; count tags the user typed are left alone.
    void pushDocument(prompt::Document after, const QString& text, const QString& mergeKey = QString());
    // Scrolls the form to character card `row` once the cards are laid out.
    void revealCard(int row);
    void rebuildForm();
    void refreshForm();
    void reparseXml();
    void showDiagnostics(const std::vector<prompt::Diagnostic>& diagnostics);
    void jumpToDiagnostic(QListWidgetItem* item);
    void populateLibraryMenu();
    prompt::Document editableDocument() const;
    // The free-text field: the caption of an XML prompt, or the whole of a tag list or natural-language prompt.
    void freeTextEdited();
    void refreshFreeText();

    QTabWidget* m_tabs = nullptr;
    QScrollArea* m_scroll = nullptr;
    QWidget* m_cardsHost = nullptr;
    QVBoxLayout* m_cardsLayout = nullptr;
    std::vector<CharacterCard*> m_cards;
    std::vector<TagChipEdit*> m_generalEdits;
    QLabel* m_kindNotice = nullptr;
    QLabel* m_freeTextLabel = nullptr;
    QPlainTextEdit* m_freeText = nullptr;
    QString m_conversion; // what the last form edit did to a tag list or a text ("" when nothing)
    QPlainTextEdit* m_xmlEdit = nullptr;
    QListWidget* m_diagnostics = nullptr;
    QTimer* m_reparseTimer = nullptr;
    QUndoStack* m_undo = nullptr;
    QMenu* m_libraryMenu = nullptr;
    TagVocabulary m_vocabulary;
    CharacterLibrary m_library;
    prompt::Document m_doc;
    bool m_updating = false;
};

} // namespace charaforge::ui
