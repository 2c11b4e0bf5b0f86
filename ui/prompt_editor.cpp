#include "ui/prompt_editor.h"

#include <algorithm>

#include <QAbstractItemView>
#include <QApplication>
#include <QCompleter>
#include <QDir>
#include <QDrag>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QFrame>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHash>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLayout>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QSplitter>
#include <QStandardPaths>
#include <QStringListModel>
#include <QSyntaxHighlighter>
#include <QTabWidget>
#include <QTextBlock>
#include <QTimer>
#include <QToolButton>
#include <QUndoCommand>
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

// A layout that places its items left to right and wraps them onto further rows.
class FlowLayout : public QLayout {
public:
    explicit FlowLayout(QWidget* parent) : QLayout(parent) { setContentsMargins(0, 0, 0, 0); }
    ~FlowLayout() override {
        while (QLayoutItem* item = takeAt(0))
            delete item;
    }
    void addItem(QLayoutItem* item) override { m_items.append(item); }
    void insertWidget(int index, QWidget* widget) {
        addChildWidget(widget);
        m_items.insert(index, new QWidgetItem(widget));
        invalidate();
    }
    int count() const override { return static_cast<int>(m_items.size()); }
    QLayoutItem* itemAt(int index) const override { return m_items.value(index); }
    QLayoutItem* takeAt(int index) override {
        return index >= 0 && index < m_items.size() ? m_items.takeAt(index) : nullptr;
    }
    Qt::Orientations expandingDirections() const override { return {}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return doLayout(QRect(0, 0, width, 0), false); }
    void setGeometry(const QRect& rect) override {
        QLayout::setGeometry(rect);
        doLayout(rect, true);
    }
    QSize sizeHint() const override { return minimumSize(); }
    QSize minimumSize() const override {
        QSize size;
        for (const QLayoutItem* item : m_items)
            size = size.expandedTo(item->minimumSize());
        const QMargins m = contentsMargins();
        return size + QSize(m.left() + m.right(), m.top() + m.bottom());
    }

private:
    int doLayout(const QRect& rect, bool apply) const {
        const QMargins m = contentsMargins();
        const QRect area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom());
        const int gap = 4;
        int x = area.x();
        int y = area.y();
        int lineHeight = 0;
        for (QLayoutItem* item : m_items) {
            const QSize hint = item->sizeHint();
            // The input (the last item) takes the rest of its row, at least its minimum width.
            const bool last = item == m_items.back();
            int width = last ? std::max(hint.width(), area.right() - x + 1) : hint.width();
            if (x > area.x() && x + (last ? item->minimumSize().width() : width) > area.right() + 1) {
                x = area.x();
                y += lineHeight + gap;
                lineHeight = 0;
                width = last ? std::max(hint.width(), area.width()) : hint.width();
            }
            if (apply)
                item->setGeometry(
                    QRect(QPoint(x, y), QSize(std::min(width, std::max(area.width(), 1)), hint.height())));
            x += width + gap;
            lineHeight = std::max(lineHeight, hint.height());
        }
        return y + lineHeight - rect.y() + m.bottom();
    }

    QList<QLayoutItem*> m_items;
};

// The handle in a character card's title row: dragging it drags the card (its row as mime data).
class DragHandle : public QLabel {
public:
    DragHandle(int row, QWidget* parent) : QLabel(QStringLiteral("\u283F"), parent), m_row(row) {
        setObjectName(QStringLiteral("dragHandle"));
        setCursor(Qt::OpenHandCursor);
        setToolTip(QObject::tr("Drag to reorder"));
    }

protected:
    void mousePressEvent(QMouseEvent* event) override {
        if (event->button() == Qt::LeftButton)
            m_pressPos = event->position().toPoint();
        QLabel::mousePressEvent(event);
    }
    void mouseMoveEvent(QMouseEvent* event) override {
        if (!(event->buttons() & Qt::LeftButton) ||
            (event->position().toPoint() - m_pressPos).manhattanLength() < QApplication::startDragDistance()) {
            QLabel::mouseMoveEvent(event);
            return;
        }
        auto* drag = new QDrag(this);
        auto* mime = new QMimeData;
        mime->setData(charaforge::ui::PromptEditor::characterMimeType(), QByteArray::number(m_row));
        drag->setMimeData(mime);
        if (QWidget* card = parentWidget())
            drag->setPixmap(card->grab().scaledToWidth(std::min(card->width(), 240), Qt::SmoothTransformation));
        drag->exec(Qt::MoveAction);
    }

private:
    int m_row;
    QPoint m_pressPos;
};

QString fieldLabel(const char* name) {
    QString label = QString::fromLatin1(name);
    if (label == QLatin1String("n"))
        return QObject::tr("Name");
    label.replace(u'_', u' ');
    label[0] = label[0].toUpper();
    return label;
}

QString safeFileName(const QString& name) {
    QString out;
    for (const QChar ch : name.trimmed())
        out.append(ch.isLetterOrNumber() || ch == u'-' || ch == u'_' ? ch : QChar(u'_'));
    return out.isEmpty() ? QStringLiteral("character") : out.left(80);
}

class XmlPromptHighlighter : public QSyntaxHighlighter {
public:
    explicit XmlPromptHighlighter(QTextDocument* parent) : QSyntaxHighlighter(parent) {
        m_tagFormat.setForeground(QColor(0x1f, 0x5f, 0xbf));
        m_tagFormat.setFontWeight(QFont::Bold);
        m_placeholderFormat.setForeground(QColor(0xb0, 0x40, 0x90));
        m_placeholderFormat.setFontItalic(true);
        m_commentFormat.setForeground(QColor(0x70, 0x70, 0x70));
    }

protected:
    void highlightBlock(const QString& text) override {
        static const QRegularExpression tag(QStringLiteral(R"(</?[A-Za-z_][\w.:-]*[^<>]*/?>)"));
        static const QRegularExpression placeholder(QStringLiteral(R"(\$[^$\s<>]+\$)"));
        static const QRegularExpression comment(QStringLiteral("<!--.*?-->"));
        for (auto it = tag.globalMatch(text); it.hasNext();) {
            const auto m = it.next();
            setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_tagFormat);
        }
        for (auto it = placeholder.globalMatch(text); it.hasNext();) {
            const auto m = it.next();
            setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_placeholderFormat);
        }
        for (auto it = comment.globalMatch(text); it.hasNext();) {
            const auto m = it.next();
            setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), m_commentFormat);
        }
    }

private:
    QTextCharFormat m_tagFormat;
    QTextCharFormat m_placeholderFormat;
    QTextCharFormat m_commentFormat;
};

} // namespace

// One undo step: the whole document before and after. Typing in one field merges into one step.
class DocumentCommand : public QUndoCommand {
public:
    DocumentCommand(PromptEditor* editor, Document before, Document after, const QString& text, QString mergeKey,
                    bool writeXmlFirst)
        : QUndoCommand(text), m_editor(editor), m_before(std::move(before)), m_after(std::move(after)),
          m_mergeKey(std::move(mergeKey)), m_writeXmlFirst(writeXmlFirst) {}

    void redo() override {
        m_editor->applyDocument(m_after, m_writeXmlFirst || !m_first);
        m_first = false;
    }
    void undo() override { m_editor->applyDocument(m_before, true); }
    int id() const override { return m_mergeKey.isEmpty() ? -1 : 1; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* o = static_cast<const DocumentCommand*>(other);
        if (o->m_mergeKey != m_mergeKey)
            return false;
        m_after = o->m_after;
        return true;
    }

private:
    PromptEditor* m_editor;
    Document m_before;
    Document m_after;
    QString m_mergeKey;
    bool m_writeXmlFirst;
    bool m_first = true;
};

// ---------------------------------------------------------------------------------------------
// TagLineEdit

TagLineEdit::TagLineEdit(QWidget* parent) : QLineEdit(parent) {
    m_model = new QStringListModel(this);
    m_completer = new QCompleter(m_model, this);
    m_completer->setWidget(this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    m_completer->setFilterMode(Qt::MatchStartsWith);
    connect(m_completer, qOverload<const QString&>(&QCompleter::activated), this, &TagLineEdit::insertCompletion);
    connect(this, &QLineEdit::textEdited, this, [this] {
        updateCompletion();
        Q_EMIT tagsEdited();
    });
}

void TagLineEdit::setVocabulary(const QStringList& tags) {
    m_model->setStringList(tags);
}

void TagLineEdit::keyPressEvent(QKeyEvent* event) {
    // While the popup is open the completer takes these keys.
    if (m_completer->popup()->isVisible()) {
        switch (event->key()) {
        case Qt::Key_Enter:
        case Qt::Key_Return:
        case Qt::Key_Escape:
        case Qt::Key_Tab:
        case Qt::Key_Backtab:
            event->ignore();
            return;
        default:
            break;
        }
    }
    QLineEdit::keyPressEvent(event);
}

void TagLineEdit::updateCompletion() {
    const QString left = text().left(cursorPosition());
    const QString prefix = left.mid(left.lastIndexOf(u',') + 1).trimmed();
    if (prefix.isEmpty() || m_model->rowCount() == 0) {
        m_completer->popup()->hide();
        return;
    }
    m_completer->setCompletionPrefix(prefix);
    if (m_completer->completionCount() == 0) {
        m_completer->popup()->hide();
        return;
    }
    m_completer->complete();
}

void TagLineEdit::insertCompletion(const QString& tag) {
    const QString left = text().left(cursorPosition());
    const QString rest = text().mid(cursorPosition());
    const qsizetype comma = left.lastIndexOf(u',');
    QString head = comma < 0 ? QString() : left.left(comma + 1) + u' ';
    head += tag;
    if (rest.trimmed().isEmpty())
        head += QStringLiteral(", ");
    setText(head + rest);
    setCursorPosition(static_cast<int>(head.size()));
    Q_EMIT tagsEdited();
}

// ---------------------------------------------------------------------------------------------
// TagChipEdit

TagChipEdit::TagChipEdit(QWidget* parent) : QWidget(parent) {
    auto* layout = new FlowLayout(this);
    m_input = new TagLineEdit(this);
    m_input->setObjectName(QStringLiteral("tagInput"));
    m_input->setMinimumWidth(80);
    m_input->installEventFilter(this);
    layout->addWidget(m_input);
    setFocusProxy(m_input);
    connect(m_input, &TagLineEdit::tagsEdited, this, [this] {
        takeInput(false);
        Q_EMIT tagsEdited();
    });
}

void TagChipEdit::setVocabulary(const QStringList& tags) {
    m_input->setVocabulary(tags);
}

void TagChipEdit::setPlaceholderText(const QString& text) {
    m_input->setPlaceholderText(text);
}

QStringList TagChipEdit::chipTags() const {
    QStringList out;
    for (const QFrame* chip : m_chips)
        out.append(chip->property("tag").toString());
    return out;
}

prompt::TagList TagChipEdit::tags() const {
    prompt::TagList out = chipTags();
    out.append(prompt::split_tags(m_input->text()));
    return out;
}

QString TagChipEdit::text() const {
    return prompt::join_tags(tags());
}

void TagChipEdit::setText(const QString& text) {
    clearChips();
    for (const QString& tag : prompt::split_tags(text))
        addChip(tag);
    m_input->clear();
}

void TagChipEdit::clearChips() {
    for (QFrame* chip : m_chips) {
        chip->hide();
        chip->setParent(nullptr);
        chip->deleteLater();
    }
    m_chips.clear();
}

void TagChipEdit::addChip(const QString& tag) {
    auto* chip = new QFrame(this);
    chip->setObjectName(QStringLiteral("tagChip"));
    chip->setProperty("tag", tag);
    chip->setFrameShape(QFrame::StyledPanel);
    auto* row = new QHBoxLayout(chip);
    row->setContentsMargins(4, 0, 2, 0);
    row->setSpacing(2);
    row->addWidget(new QLabel(tag, chip));
    auto* remove = new QToolButton(chip);
    remove->setObjectName(QStringLiteral("removeTag"));
    remove->setText(QStringLiteral("\u00D7"));
    remove->setAutoRaise(true);
    remove->setToolTip(tr("Remove %1").arg(tag));
    connect(remove, &QToolButton::clicked, this, [this, chip] {
        const auto it = std::find(m_chips.begin(), m_chips.end(), chip);
        if (it != m_chips.end())
            removeChip(static_cast<int>(it - m_chips.begin()));
    });
    row->addWidget(remove);
    static_cast<FlowLayout*>(layout())->insertWidget(static_cast<int>(m_chips.size()), chip);
    chip->show();
    m_chips.push_back(chip);
}

void TagChipEdit::removeChip(int index) {
    if (index < 0 || index >= static_cast<int>(m_chips.size()))
        return;
    QFrame* chip = m_chips[static_cast<size_t>(index)];
    m_chips.erase(m_chips.begin() + index);
    // The chip's own button may be the caller: detach now, delete later.
    chip->hide();
    chip->setParent(nullptr);
    chip->deleteLater();
    Q_EMIT tagsEdited();
}

void TagChipEdit::takeInput(bool all) {
    QString typed = m_input->text();
    // A space after a comma (now a chip) is not part of the next tag.
    qsizetype lead = 0;
    while (lead < typed.size() && typed.at(lead).isSpace())
        ++lead;
    if (lead > 0) {
        const int cursor = m_input->cursorPosition();
        typed.remove(0, lead);
        m_input->setText(typed);
        m_input->setCursorPosition(std::max(0, cursor - static_cast<int>(lead)));
    }
    if (!all && !typed.contains(u','))
        return;
    const qsizetype comma = all ? typed.size() : typed.lastIndexOf(u',');
    for (const QString& tag : prompt::split_tags(typed.left(comma)))
        addChip(tag);
    m_input->setText(all ? QString() : typed.mid(comma + 1).trimmed());
}

bool TagChipEdit::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_input && event->type() == QEvent::KeyPress) {
        const int key = static_cast<QKeyEvent*>(event)->key();
        QAbstractItemView* popup = m_input->tagCompleter()->popup();
        // Enter with no completion chosen commits the typed text (a chosen one is the completer's).
        if ((key == Qt::Key_Return || key == Qt::Key_Enter) &&
            !(popup->isVisible() && popup->currentIndex().isValid())) {
            popup->hide();
            takeInput(true);
            Q_EMIT tagsEdited();
            return true;
        }
    }
    if (watched == m_input && event->type() == QEvent::KeyPress &&
        static_cast<QKeyEvent*>(event)->key() == Qt::Key_Backspace && m_input->text().isEmpty() && !m_chips.empty()) {
        removeChip(static_cast<int>(m_chips.size()) - 1);
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

// ---------------------------------------------------------------------------------------------
// PromptEditor

PromptEditor::PromptEditor(QWidget* parent, const QString& libraryDir, const QString& vocabularyUserDir)
    : QWidget(parent), m_vocabulary(vocabularyUserDir) {
    m_libraryDir = libraryDir.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                                              QStringLiteral("/characters")
                                        : libraryDir;
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
    scroll->setWidgetResizable(true);
    auto* scrollBody = new QWidget(scroll);
    auto* bodyLayout = new QVBoxLayout(scrollBody);
    m_cardsHost = new QWidget(scrollBody);
    m_cardsLayout = new QVBoxLayout(m_cardsHost);
    m_cardsLayout->setContentsMargins(0, 0, 0, 0);
    bodyLayout->addWidget(m_cardsHost);

    auto* general = new QGroupBox(tr("General tags"), scrollBody);
    general->setObjectName(QStringLiteral("generalTags"));
    auto* generalForm = new QFormLayout(general);
    for (size_t f = 0; f < prompt::general_tags_fields.size(); ++f) {
        const char* name = prompt::general_tags_fields[f].name;
        TagChipEdit* edit =
            makeField(general, QString::fromLatin1(name), QStringLiteral("general_") + QString::fromLatin1(name));
        generalForm->addRow(fieldLabel(name), edit);
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

TagChipEdit* PromptEditor::makeField(QWidget* parent, const QString& field, const QString& objectName) {
    auto* edit = new TagChipEdit(parent);
    edit->setObjectName(objectName);
    edit->setVocabulary(m_vocabulary.tags(field));
    edit->setPlaceholderText(tr("add tags (comma or Enter)"));
    return edit;
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

void PromptEditor::showDiagnostics(const std::vector<prompt::Diagnostic>& diagnostics) {
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

void PromptEditor::pushDocument(const Document& after, const QString& text, const QString& mergeKey) {
    m_undo->push(new DocumentCommand(this, m_doc, after, text, mergeKey, true));
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
    if (m_cards.size() != m_doc.characters.size()) {
        rebuildForm();
        return;
    }
    for (size_t r = 0; r < m_doc.characters.size(); ++r) {
        const Character& c = m_doc.characters[r];
        for (size_t f = 0; f < prompt::character_fields.size(); ++f) {
            const prompt::TagList& value = c.*prompt::character_fields[f].member;
            TagChipEdit* edit = m_characterEdits[r][f];
            if (prompt::split_tags(edit->text()) != value)
                edit->setText(prompt::join_tags(value));
        }
    }
    const prompt::GeneralTags general = m_doc.general_tags.value_or(prompt::GeneralTags{});
    for (size_t f = 0; f < prompt::general_tags_fields.size(); ++f) {
        const prompt::TagList& value = general.*prompt::general_tags_fields[f].member;
        if (prompt::split_tags(m_generalEdits[f]->text()) != value)
            m_generalEdits[f]->setText(prompt::join_tags(value));
    }
}

void PromptEditor::rebuildForm() {
    // A card's own button may be the caller: detach now, delete later.
    for (QGroupBox* card : m_cards) {
        card->hide();
        card->setParent(nullptr);
        card->deleteLater();
    }
    m_cards.clear();
    m_characterEdits.clear();
    const int count = static_cast<int>(m_doc.characters.size());
    for (int r = 0; r < count; ++r) {
        auto* card = new QGroupBox(tr("Character %1").arg(r + 1), m_cardsHost);
        card->setObjectName(characterTag(r + 1));
        card->setAcceptDrops(true);
        card->installEventFilter(this);
        auto* layout = new QVBoxLayout(card);
        auto* titleRow = new QHBoxLayout;
        titleRow->addWidget(new DragHandle(r, card));
        titleRow->addStretch(1);
        layout->addLayout(titleRow);
        auto* form = new QFormLayout;
        std::vector<TagChipEdit*> edits;
        for (size_t f = 0; f < prompt::character_fields.size(); ++f) {
            const char* name = prompt::character_fields[f].name;
            TagChipEdit* edit =
                makeField(card, QString::fromLatin1(name), characterTag(r + 1) + u'_' + QString::fromLatin1(name));
            form->addRow(fieldLabel(name), edit);
            edits.push_back(edit);
            connect(edit, &TagChipEdit::tagsEdited, this, [this, r, f, edit] {
                Document after = editableDocument();
                if (r >= static_cast<int>(after.characters.size()))
                    return;
                after.characters[static_cast<size_t>(r)].*prompt::character_fields[f].member =
                    prompt::split_tags(edit->text());
                if (after == m_doc)
                    return;
                pushDocument(
                    after,
                    tr("Edit character %1 %2").arg(r + 1).arg(QString::fromLatin1(prompt::character_fields[f].name)),
                    QStringLiteral("c%1.%2").arg(r).arg(f));
            });
        }
        layout->addLayout(form);
        auto* buttons = new QHBoxLayout;
        auto button = [&](const QString& text, const char* name, auto slot) {
            auto* b = new QPushButton(text, card);
            b->setObjectName(QString::fromLatin1(name));
            connect(b, &QPushButton::clicked, this, slot);
            buttons->addWidget(b);
            return b;
        };
        button(tr("Duplicate"), "duplicate", [this, r] { duplicateCharacter(r); });
        button(tr("Remove"), "remove", [this, r] { removeCharacter(r); });
        button(tr("Move up"), "moveUp", [this, r] { moveCharacter(r, -1); })->setEnabled(r > 0);
        button(tr("Move down"), "moveDown", [this, r] { moveCharacter(r, 1); })->setEnabled(r + 1 < count);
        button(tr("Save to library"), "saveToLibrary", [this, r] {
            const Character& c = m_doc.characters[static_cast<size_t>(r)];
            bool ok = false;
            const QString suggestion = c.n.isEmpty() ? characterTag(r + 1) : c.n.join(u'_');
            const QString name = QInputDialog::getText(this, tr("Save character to library"), tr("Name"),
                                                       QLineEdit::Normal, suggestion, &ok);
            if (ok)
                saveCharacterToLibrary(r, name);
        });
        buttons->addStretch(1);
        layout->addLayout(buttons);
        m_cardsLayout->addWidget(card);
        m_cards.push_back(card);
        m_characterEdits.push_back(std::move(edits));
    }
    refreshForm();
}

void PromptEditor::addCharacter() {
    Document after = editableDocument();
    Character c;
    c.index = static_cast<int>(after.characters.size()) + 1;
    after.characters.push_back(c);
    pushDocument(after, tr("Add character"));
}

void PromptEditor::duplicateCharacter(int row) {
    Document after = editableDocument();
    if (row < 0 || row >= static_cast<int>(after.characters.size()))
        return;
    after.characters.insert(after.characters.begin() + row + 1, after.characters[static_cast<size_t>(row)]);
    renumber(after, m_doc);
    pushDocument(after, tr("Duplicate character %1").arg(row + 1));
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
    return QStringLiteral("application/x-charaforge-character-row");
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

bool PromptEditor::eventFilter(QObject* watched, QEvent* event) {
    const auto card = std::find(m_cards.begin(), m_cards.end(), watched);
    if (card == m_cards.end())
        return QWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::DragEnter:
    case QEvent::DragMove: {
        auto* drag = static_cast<QDropEvent*>(event);
        if (drag->mimeData()->hasFormat(characterMimeType())) {
            drag->setDropAction(Qt::MoveAction);
            drag->accept();
            return true;
        }
        break;
    }
    case QEvent::Drop: {
        auto* drop = static_cast<QDropEvent*>(event);
        // The cards are rebuilt by the move: handle the drop once this event is done.
        const int target = static_cast<int>(card - m_cards.begin());
        const QByteArray row = drop->mimeData()->data(characterMimeType());
        if (row.isEmpty())
            break;
        drop->setDropAction(Qt::MoveAction);
        drop->accept();
        QTimer::singleShot(0, this, [this, row, target] {
            QMimeData data;
            data.setData(characterMimeType(), row);
            dropCharacter(&data, target);
        });
        return true;
    }
    default:
        break;
    }
    return QWidget::eventFilter(watched, event);
}

void PromptEditor::setLibraryDir(const QString& dir) {
    m_libraryDir = dir;
}

QString PromptEditor::saveCharacterToLibrary(int row, const QString& name) {
    if (row < 0 || row >= static_cast<int>(m_doc.characters.size()))
        return {};
    Document snippet;
    Character c = m_doc.characters[static_cast<size_t>(row)];
    c.index = 1;
    snippet.characters.push_back(c);
    const QString base = name.isEmpty() ? (c.n.isEmpty() ? characterTag(row + 1) : c.n.join(u'_')) : name;
    if (!QDir().mkpath(m_libraryDir))
        return {};
    const QString path = QDir(m_libraryDir).filePath(safeFileName(base) + QStringLiteral(".xml"));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(prompt::serialise(snippet).toUtf8() + '\n');
    return file.commit() ? path : QString();
}

QStringList PromptEditor::libraryEntries() const {
    QStringList out;
    const QFileInfoList files =
        QDir(m_libraryDir).entryInfoList({QStringLiteral("*.xml")}, QDir::Files, QDir::Name | QDir::IgnoreCase);
    for (const QFileInfo& info : files)
        out.append(info.absoluteFilePath());
    return out;
}

bool PromptEditor::insertFromLibrary(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return false;
    const prompt::ParseResult result = prompt::parse_utf8(file.readAll());
    if (result.has_errors() || result.document.characters.empty())
        return false;
    Document after = editableDocument();
    Character c = result.document.characters.front();
    c.index = static_cast<int>(after.characters.size()) + 1;
    after.characters.push_back(c);
    pushDocument(after, tr("Insert %1").arg(QFileInfo(path).completeBaseName()));
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
