#include "ui/prompt_editor.h"

#include "ui/character_card.h"
#include "ui/document_command.h"
#include "ui/xml_prompt_highlighter.h"

#include <algorithm>

#include <QCoreApplication>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHash>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTextBlock>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

namespace charaforge::ui {

using prompt::Character;
using prompt::Document;

namespace {

// Pause after the last keystroke in the XML before it is re-parsed.
constexpr int kReparseDelayMs = 300;
// Diagnostic positions stored on list items.
constexpr int kLineRole = Qt::UserRole;
constexpr int kColumnRole = Qt::UserRole + 1;

QString characterTag(int index) {
    return QStringLiteral("character_") + QString::number(index);
}

// Writes characters as character_1..N in their order and re-anchors the unknown top-level elements
// that followed a character: to its new number, or, when it was removed, to the nearest surviving
// character before it (else after the caption), so nothing moves to the end.
void renumber(Document& d, const Document& before) {
    QHash<int, int> newIndex; // old N -> new N (the first copy of a duplicated character)
    for (size_t i = 0; i < d.characters.size(); ++i) {
        const int old = d.characters[i].index;
        if (!newIndex.contains(old))
            newIndex.insert(old, static_cast<int>(i) + 1);
    }
    QHash<int, QString> anchorOf; // old N -> anchor to use
    QString last = QStringLiteral("caption");
    for (const Character& c : before.characters) {
        if (newIndex.contains(c.index))
            last = characterTag(newIndex.value(c.index));
        anchorOf.insert(c.index, last);
    }
    for (prompt::RawElement& e : d.extra) {
        if (!e.after.startsWith(QStringLiteral("character_")))
            continue;
        bool ok = false;
        const int old = e.after.mid(10).toInt(&ok);
        if (ok && anchorOf.contains(old))
            e.after = anchorOf.value(old);
    }
    for (size_t i = 0; i < d.characters.size(); ++i)
        d.characters[i].index = static_cast<int>(i) + 1;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// PromptEditor

PromptEditor::PromptEditor(QWidget* parent, const QString& libraryDir, const QString& vocabularyUserDir)
    : QWidget(parent), m_vocabulary(vocabularyUserDir),
      m_library(libraryDir.isEmpty()
                    ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/characters")
                    : libraryDir) {
    m_undo = new QUndoStack(this);
    m_reparseTimer = new QTimer(this);
    m_reparseTimer->setSingleShot(true);
    m_reparseTimer->setInterval(kReparseDelayMs);
    connect(m_reparseTimer, &QTimer::timeout, this, &PromptEditor::reparseXml);

    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("promptTabs"));
    outer->addWidget(m_tabs);

    // Form tab.
    auto* formPage = new QWidget(m_tabs);
    auto* formLayout = new QVBoxLayout(formPage);
    auto* toolbar = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add character"), formPage);
    add->setObjectName(QStringLiteral("addCharacter"));
    connect(add, &QPushButton::clicked, this, &PromptEditor::addCharacter);
    auto* library = new QToolButton(formPage);
    library->setObjectName(QStringLiteral("insertFromLibrary"));
    library->setText(tr("Insert from library"));
    library->setPopupMode(QToolButton::InstantPopup);
    m_libraryMenu = new QMenu(library);
    library->setMenu(m_libraryMenu);
    connect(m_libraryMenu, &QMenu::aboutToShow, this, &PromptEditor::populateLibraryMenu);
    auto* undo = new QToolButton(formPage);
    undo->setDefaultAction(m_undo->createUndoAction(undo, tr("Undo")));
    auto* redo = new QToolButton(formPage);
    redo->setDefaultAction(m_undo->createRedoAction(redo, tr("Redo")));
    toolbar->addWidget(add);
    toolbar->addWidget(library);
    toolbar->addStretch(1);
    toolbar->addWidget(undo);
    toolbar->addWidget(redo);
    formLayout->addLayout(toolbar);

    auto* scroll = new QScrollArea(formPage);
    m_scroll = scroll;
    scroll->setObjectName(QStringLiteral("formScroll"));
    scroll->setWidgetResizable(true);
    auto* scrollBody = new QWidget(scroll);
    auto* bodyLayout = new QVBoxLayout(scrollBody);
    // A tag list or a sentence is a prompt of its own (not XML): shown here as what it is, edited as such.
    m_kindNotice = new QLabel(scrollBody);
    m_kindNotice->setObjectName(QStringLiteral("promptKind"));
    m_kindNotice->setWordWrap(true);
    m_kindNotice->setFrameShape(QFrame::StyledPanel);
    bodyLayout->addWidget(m_kindNotice);
    m_freeTextLabel = new QLabel(scrollBody);
    m_freeTextLabel->setObjectName(QStringLiteral("freeTextLabel"));
    bodyLayout->addWidget(m_freeTextLabel);
    m_freeText = new QPlainTextEdit(scrollBody);
    m_freeText->setObjectName(QStringLiteral("freeText"));
    m_freeText->setTabChangesFocus(true);
    m_freeText->setMaximumHeight(m_freeText->fontMetrics().lineSpacing() * 5);
    m_freeTextLabel->setBuddy(m_freeText);
    connect(m_freeText, &QPlainTextEdit::textChanged, this, &PromptEditor::freeTextEdited);
    bodyLayout->addWidget(m_freeText);
    m_cardsHost = new QWidget(scrollBody);
    m_cardsLayout = new QVBoxLayout(m_cardsHost);
    m_cardsLayout->setContentsMargins(0, 0, 0, 0);
    bodyLayout->addWidget(m_cardsHost);

    auto* general = new QGroupBox(tr("General tags"), scrollBody);
    general->setObjectName(QStringLiteral("generalTags"));
    auto* generalForm = new QFormLayout(general);
    for (size_t f = 0; f < prompt::general_tags_fields.size(); ++f) {
        const char* name = prompt::general_tags_fields[f].name;
        TagChipEdit* edit = TagChipEdit::forField(m_vocabulary.tags(QString::fromLatin1(name)),
                                                  QStringLiteral("general_") + QString::fromLatin1(name), general);
        generalForm->addRow(formFieldLabel(name), edit);
        m_generalEdits.push_back(edit);
        connect(edit, &TagChipEdit::tagsEdited, this, [this, f, edit] {
            Document after = editableDocument();
            prompt::GeneralTags g = after.general_tags.value_or(prompt::GeneralTags{});
            g.*prompt::general_tags_fields[f].member = prompt::split_tags(edit->text());
            if (g.empty() && g.extra.empty())
                after.general_tags.reset();
            else
                after.general_tags = g;
            if (after == m_doc)
                return;
            pushDocument(after, tr("Edit general %1").arg(QString::fromLatin1(prompt::general_tags_fields[f].name)),
                         QStringLiteral("g.") + QString::number(f));
        });
    }
    bodyLayout->addWidget(general);
    bodyLayout->addStretch(1);
    scroll->setWidget(scrollBody);
    formLayout->addWidget(scroll, 1);
    m_tabs->addTab(formPage, tr("Form"));

    // XML tab.
    auto* xmlPage = new QSplitter(Qt::Vertical, m_tabs);
    m_xmlEdit = new QPlainTextEdit(xmlPage);
    m_xmlEdit->setObjectName(QStringLiteral("xmlEdit"));
    m_xmlEdit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_xmlEdit->setLineWrapMode(QPlainTextEdit::NoWrap);
    new XmlPromptHighlighter(m_xmlEdit->document());
    connect(m_xmlEdit, &QPlainTextEdit::textChanged, this, [this] {
        if (m_updating)
            return;
        m_reparseTimer->start();
        Q_EMIT changed();
    });
    m_diagnostics = new QListWidget(xmlPage);
    m_diagnostics->setObjectName(QStringLiteral("diagnostics"));
    connect(m_diagnostics, &QListWidget::itemClicked, this, &PromptEditor::jumpToDiagnostic);
    connect(m_diagnostics, &QListWidget::itemActivated, this, &PromptEditor::jumpToDiagnostic);
    xmlPage->addWidget(m_xmlEdit);
    xmlPage->addWidget(m_diagnostics);
    xmlPage->setStretchFactor(0, 4);
    xmlPage->setStretchFactor(1, 1);
    m_tabs->addTab(xmlPage, tr("XML"));
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { flushXml(); });

    rebuildForm();
}

QString PromptEditor::xml() const {
    return m_xmlEdit->toPlainText();
}

void PromptEditor::setXml(const QString& text) {
    m_reparseTimer->stop();
    m_updating = true;
    m_xmlEdit->setPlainText(text);
    m_updating = false;
    prompt::ParseResult result = prompt::parse(text);
    showDiagnostics(result.diagnostics);
    m_doc = std::move(result.document);
    m_undo->clear();
    m_conversion.clear();
    refreshForm();
    Q_EMIT changed();
}

Document PromptEditor::document() const {
    if (m_reparseTimer->isActive()) {
        prompt::ParseResult result = prompt::parse(xml());
        if (!result.has_errors())
            return result.document;
    }
    return m_doc;
}

void PromptEditor::flushXml() {
    if (m_reparseTimer->isActive()) {
        m_reparseTimer->stop();
        reparseXml();
    }
}

QStringList PromptEditor::diagnosticTexts() const {
    QStringList out;
    for (int i = 0; i < m_diagnostics->count(); ++i)
        out.append(m_diagnostics->item(i)->text());
    return out;
}

void PromptEditor::reparseXml() {
    prompt::ParseResult result = prompt::parse(xml());
    showDiagnostics(result.diagnostics);
    if (result.has_errors() || result.document == m_doc)
        return;
    m_undo->push(new DocumentCommand(this, m_doc, std::move(result.document), tr("Edit XML"), QString(), false));
}

QString PromptEditor::firstError() const {
    const prompt::ParseResult result = prompt::parse(xml());
    for (const prompt::Diagnostic& d : result.diagnostics)
        if (d.severity == prompt::Severity::Error)
            return QStringLiteral("%1:%2: %3").arg(d.line).arg(d.column).arg(d.message);
    return {};
}

QString PromptEditor::canonicalXml() const {
    const prompt::ParseResult result = prompt::parse(xml());
    return result.has_errors() ? QString() : prompt::serialise(result.document);
}

void PromptEditor::showDiagnostics(const std::vector<prompt::Diagnostic>& diagnostics) {
    bool errors = false;
    for (const prompt::Diagnostic& d : diagnostics)
        errors = errors || d.severity == prompt::Severity::Error;
    Q_EMIT validityChanged(errors);
    m_diagnostics->clear();
    for (const prompt::Diagnostic& d : diagnostics) {
        auto* item = new QListWidgetItem(QStringLiteral("%1:%2: %3: %4")
                                             .arg(d.line)
                                             .arg(d.column)
                                             .arg(QString::fromLatin1(prompt::to_string(d.severity)), d.message),
                                         m_diagnostics);
        item->setData(kLineRole, d.line);
        item->setData(kColumnRole, d.column);
        item->setForeground(d.severity == prompt::Severity::Error ? QColor(0xc0, 0x20, 0x20) : QColor(0x90, 0x60, 0));
    }
}

void PromptEditor::jumpToDiagnostic(QListWidgetItem* item) {
    if (!item)
        return;
    const int line = item->data(kLineRole).toInt();
    const int column = item->data(kColumnRole).toInt();
    const QTextBlock block = m_xmlEdit->document()->findBlockByNumber(std::max(0, line - 1));
    if (!block.isValid())
        return;
    // Columns count code points; the editor counts UTF-16 units.
    const QString text = block.text();
    qsizetype offset = 0;
    for (int cp = 1; cp < column && offset < text.size(); ++cp)
        offset += text.at(offset).isHighSurrogate() && offset + 1 < text.size() ? 2 : 1;
    QTextCursor cursor(block);
    cursor.setPosition(block.position() + static_cast<int>(offset));
    m_xmlEdit->setTextCursor(cursor);
    m_xmlEdit->setFocus();
}

void PromptEditor::applyDocument(const Document& doc, bool writeXml) {
    m_doc = doc;
    refreshForm();
    if (writeXml) {
        m_reparseTimer->stop();
        m_updating = true;
        m_xmlEdit->setPlainText(prompt::serialise(m_doc));
        m_updating = false;
        showDiagnostics({});
    }
    Q_EMIT changed();
}

void PromptEditor::pushDocument(Document after, const QString& text, const QString& mergeKey) {
    const prompt::TagList was = prompt::count_tags(m_doc.characters);
    const prompt::TagList now = prompt::count_tags(after.characters);
    prompt::GeneralTags general = after.general_tags.value_or(prompt::GeneralTags{});
    if (was != now && general.count == was) {
        general.count = now;
        if (general.empty() && general.extra.empty())
            after.general_tags.reset();
        else
            after.general_tags = general;
    }
    // A form field other than the free text makes a tag list or a sentence an XML prompt: said, not silent.
    if (m_doc.kind == prompt::Kind::TagList && after.kind == prompt::Kind::Xml && !m_doc.tags.isEmpty())
        m_conversion = tr("The tag list is now an XML prompt: its tags are under General tags › Other. "
                          "Undo goes back to the tag list.");
    else if (m_doc.kind == prompt::Kind::NaturalLanguage && after.kind == prompt::Kind::Xml && !m_doc.text.isEmpty())
        m_conversion = tr("The text is now an XML prompt: it is the caption above. Undo goes back to the text.");
    m_undo->push(new DocumentCommand(this, m_doc, after, text, mergeKey, true));
}

void PromptEditor::freeTextEdited() {
    const QString typed = m_freeText->toPlainText();
    Document after = m_doc;
    QString what;
    if (after.kind == prompt::Kind::TagList && !after.tags.isEmpty()) {
        after.tags = prompt::split_tags(typed); // stays a tag list
        what = tr("Edit tags");
    } else if (after.kind == prompt::Kind::NaturalLanguage && !after.text.isEmpty()) {
        after.text = typed.trimmed(); // stays natural language
        what = tr("Edit text");
    } else {
        after = editableDocument();
        const QString caption = typed.simplified();
        if (caption.isEmpty())
            after.caption.reset();
        else
            after.caption = caption;
        what = tr("Edit caption");
    }
    if (after == m_doc)
        return;
    pushDocument(after, what, QStringLiteral("free"));
}

void PromptEditor::refreshFreeText() {
    QString label, shown, notice;
    const bool tagList = m_doc.kind == prompt::Kind::TagList && !m_doc.tags.isEmpty();
    const bool text = m_doc.kind == prompt::Kind::NaturalLanguage && !m_doc.text.isEmpty();
    if (tagList) {
        label = tr("Tags (a plain tag list)");
        shown = prompt::join_tags(m_doc.tags);
        notice = tr("This prompt is a plain tag list, not XML: the model reads it as it is. Edit it here; a "
                    "character or a field below makes it an XML prompt with these tags under Other.");
    } else if (text) {
        label = tr("Free text (natural language)");
        shown = m_doc.text;
        notice = tr("This prompt is natural-language text, not XML: the model reads it as it is. Edit it here; a "
                    "character or a field below makes it an XML prompt with this text as its caption.");
    } else {
        label = tr("Caption (natural language, optional)");
        shown = m_doc.caption.value_or(QString());
        notice = m_conversion;
    }
    if (tagList || text)
        m_conversion.clear();
    m_freeTextLabel->setText(label);
    m_kindNotice->setText(notice);
    m_kindNotice->setVisible(!notice.isEmpty());
    // Only when it differs from what the field means: rewriting the field being typed in would move its cursor.
    const QString typed = m_freeText->toPlainText();
    const bool same = tagList ? prompt::split_tags(typed) == m_doc.tags
                      : text  ? typed.trimmed() == shown
                              : typed.simplified() == shown;
    if (!same) {
        const QSignalBlocker block(m_freeText);
        m_freeText->setPlainText(shown);
    }
}

Document PromptEditor::editableDocument() const {
    Document d = m_doc;
    if (d.kind == prompt::Kind::Xml)
        return d;
    // A tag list or a sentence becomes an XML prompt: its tags go to <other>, its text to <caption>.
    if (d.kind == prompt::Kind::TagList && !d.tags.isEmpty()) {
        prompt::GeneralTags g;
        g.other = d.tags;
        d.general_tags = g;
    } else if (d.kind == prompt::Kind::NaturalLanguage && !d.text.isEmpty()) {
        d.caption = d.text;
    }
    d.kind = prompt::Kind::Xml;
    d.tags.clear();
    d.text.clear();
    return d;
}

void PromptEditor::refreshForm() {
    refreshFreeText();
    if (m_cards.size() != m_doc.characters.size()) {
        rebuildForm();
        return;
    }
    for (size_t r = 0; r < m_doc.characters.size(); ++r)
        m_cards[r]->showCharacter(m_doc.characters[r]);
    const prompt::GeneralTags general = m_doc.general_tags.value_or(prompt::GeneralTags{});
    for (size_t f = 0; f < prompt::general_tags_fields.size(); ++f) {
        const prompt::TagList& value = general.*prompt::general_tags_fields[f].member;
        if (prompt::split_tags(m_generalEdits[f]->text()) != value)
            m_generalEdits[f]->setText(prompt::join_tags(value));
    }
}

void PromptEditor::rebuildForm() {
    // A card's own button may be the caller: detach now, delete later.
    for (CharacterCard* card : m_cards) {
        card->hide();
        card->setParent(nullptr);
        card->deleteLater();
    }
    m_cards.clear();
    const int count = static_cast<int>(m_doc.characters.size());
    for (int r = 0; r < count; ++r) {
        auto* card = new CharacterCard(r, count, m_vocabulary, m_cardsHost);
        connect(card, &CharacterCard::fieldEdited, this, [this, r, card](int f) {
            Document after = editableDocument();
            if (r >= static_cast<int>(after.characters.size()))
                return;
            after.characters[static_cast<size_t>(r)].*prompt::character_fields[static_cast<size_t>(f)].member =
                prompt::split_tags(card->field(static_cast<size_t>(f))->text());
            if (after == m_doc)
                return;
            pushDocument(after,
                         tr("Edit character %1 %2")
                             .arg(r + 1)
                             .arg(QString::fromLatin1(prompt::character_fields[static_cast<size_t>(f)].name)),
                         QStringLiteral("c%1.%2").arg(r).arg(f));
        });
        connect(card, &CharacterCard::duplicateRequested, this, [this, r] { duplicateCharacter(r); });
        connect(card, &CharacterCard::removeRequested, this, [this, r] { removeCharacter(r); });
        connect(card, &CharacterCard::moveRequested, this, [this, r](int delta) { moveCharacter(r, delta); });
        connect(card, &CharacterCard::saveRequested, this, [this, r] {
            const Character& c = m_doc.characters[static_cast<size_t>(r)];
            bool ok = false;
            const QString suggestion = c.n.isEmpty() ? characterTag(r + 1) : c.n.join(u'_');
            const QString name = QInputDialog::getText(this, tr("Save character to library"), tr("Name"),
                                                       QLineEdit::Normal, suggestion, &ok);
            if (ok)
                saveCharacterToLibrary(r, name);
        });
        // The cards are rebuilt by the move: the drop is handled once its event is done.
        connect(
            card, &CharacterCard::cardDropped, this,
            [this, r](const QByteArray& row) {
                QMimeData data;
                data.setData(characterMimeType(), row);
                dropCharacter(&data, r);
            },
            Qt::QueuedConnection);
        m_cardsLayout->addWidget(card);
        m_cards.push_back(card);
    }
    refreshForm();
}

void PromptEditor::addCharacter() {
    Document after = editableDocument();
    Character c;
    c.index = static_cast<int>(after.characters.size()) + 1;
    after.characters.push_back(c);
    pushDocument(after, tr("Add character"));
    revealCard(static_cast<int>(m_doc.characters.size()) - 1);
}

void PromptEditor::revealCard(int row) {
    QTimer::singleShot(0, this, [this, row] {
        // The new card's place is known once the layouts have run and the scroll area has sized its body.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        if (row >= 0 && row < static_cast<int>(m_cards.size()))
            m_scroll->ensureWidgetVisible(m_cards[static_cast<size_t>(row)]);
    });
}

void PromptEditor::duplicateCharacter(int row) {
    Document after = editableDocument();
    if (row < 0 || row >= static_cast<int>(after.characters.size()))
        return;
    after.characters.insert(after.characters.begin() + row + 1, after.characters[static_cast<size_t>(row)]);
    renumber(after, m_doc);
    pushDocument(after, tr("Duplicate character %1").arg(row + 1));
    revealCard(row + 1);
}

void PromptEditor::removeCharacter(int row) {
    Document after = editableDocument();
    if (row < 0 || row >= static_cast<int>(after.characters.size()))
        return;
    after.characters.erase(after.characters.begin() + row);
    renumber(after, m_doc);
    pushDocument(after, tr("Remove character %1").arg(row + 1));
}

void PromptEditor::moveCharacter(int row, int delta) {
    Document after = editableDocument();
    const int to = row + delta;
    const int count = static_cast<int>(after.characters.size());
    if (row < 0 || row >= count || to < 0 || to >= count || delta == 0)
        return;
    std::swap(after.characters[static_cast<size_t>(row)], after.characters[static_cast<size_t>(to)]);
    renumber(after, m_doc);
    pushDocument(after, tr("Move character %1").arg(row + 1));
}

void PromptEditor::moveCharacterTo(int from, int to) {
    Document after = editableDocument();
    const int count = static_cast<int>(after.characters.size());
    if (from < 0 || from >= count || to < 0 || to >= count || from == to)
        return;
    Character moved = after.characters[static_cast<size_t>(from)];
    after.characters.erase(after.characters.begin() + from);
    after.characters.insert(after.characters.begin() + to, std::move(moved));
    renumber(after, m_doc);
    pushDocument(after, tr("Move character %1").arg(from + 1));
}

QString PromptEditor::characterMimeType() {
    return CharacterCard::mimeType();
}

bool PromptEditor::dropCharacter(const QMimeData* mime, int targetRow) {
    if (!mime || !mime->hasFormat(characterMimeType()))
        return false;
    bool ok = false;
    const int from = mime->data(characterMimeType()).toInt(&ok);
    if (!ok || from < 0 || from >= static_cast<int>(m_doc.characters.size()))
        return false;
    moveCharacterTo(from, targetRow);
    return true;
}

void PromptEditor::setLibraryDir(const QString& dir) {
    m_library.setDir(dir);
}

QString PromptEditor::libraryDir() const {
    return m_library.dir();
}

QString PromptEditor::saveCharacterToLibrary(int row, const QString& name) {
    if (row < 0 || row >= static_cast<int>(m_doc.characters.size()))
        return {};
    const Character& c = m_doc.characters[static_cast<size_t>(row)];
    const QString base = name.isEmpty() ? (c.n.isEmpty() ? characterTag(row + 1) : c.n.join(u'_')) : name;
    return m_library.save(c, base);
}

QStringList PromptEditor::libraryEntries() const {
    return m_library.entries();
}

bool PromptEditor::insertFromLibrary(const QString& path) {
    std::optional<Character> c = CharacterLibrary::read(path);
    if (!c)
        return false;
    Document after = editableDocument();
    c->index = static_cast<int>(after.characters.size()) + 1;
    after.characters.push_back(*c);
    pushDocument(after, tr("Insert %1").arg(QFileInfo(path).completeBaseName()));
    revealCard(static_cast<int>(m_doc.characters.size()) - 1);
    return true;
}

void PromptEditor::populateLibraryMenu() {
    m_libraryMenu->clear();
    const QStringList entries = libraryEntries();
    if (entries.isEmpty()) {
        m_libraryMenu->addAction(tr("(library is empty)"))->setEnabled(false);
        return;
    }
    for (const QString& path : entries)
        m_libraryMenu->addAction(QFileInfo(path).completeBaseName(), this, [this, path] { insertFromLibrary(path); });
}

} // namespace charaforge::ui
