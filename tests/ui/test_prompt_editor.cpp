// Offscreen widget tests of the prompt editor (QT_QPA_PLATFORM=offscreen): form -> XML, XML -> form,
// diagnostics, preserved unknown elements, undo/redo, renumbering, vocabulary and the character library.
#include "ui/prompt_editor.h"
#include "ui/tag_vocabulary.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QCompleter>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFrame>
#include <QGroupBox>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextCursor>
#include <QToolButton>
#include <QUndoStack>

#include <gtest/gtest.h>

using charaforge::ui::PromptEditor;
using charaforge::ui::TagChipEdit;
using charaforge::ui::TagLineEdit;
using charaforge::ui::TagVocabulary;

namespace {

// Golden text written by hand from the canonical layout documented in prompt.h.
const char* kTwoCharacters = "<character_1>\n"
                             "<n>alice</n>\n"
                             "<gender>1girl</gender>\n"
                             "<appearance>long_hair, blue_eyes</appearance>\n"
                             "</character_1>\n"
                             "\n"
                             "<character_2>\n"
                             "<n></n>\n"
                             "<gender>1boy</gender>\n"
                             "<clothing>suit</clothing>\n"
                             "</character_2>\n"
                             "\n"
                             "<general_tags>\n"
                             "<count>1girl, 1boy</count>\n"
                             "<style>anime_style</style>\n"
                             "</general_tags>";

class PromptEditorTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.isValid());
        m_editor = std::make_unique<PromptEditor>(nullptr, m_dir.filePath(QStringLiteral("library")),
                                                  m_dir.filePath(QStringLiteral("vocabulary")));
        m_editor->resize(700, 900);
        m_editor->show();
    }

    TagChipEdit* field(const QString& name) const {
        auto* edit = m_editor->findChild<TagChipEdit*>(name);
        EXPECT_NE(edit, nullptr) << name.toStdString();
        return edit;
    }
    void type(const QString& name, const QString& text) const {
        TagChipEdit* edit = field(name);
        ASSERT_NE(edit, nullptr);
        edit->input()->setFocus();
        QTest::keyClicks(edit->input(), text);
    }
    QPushButton* cardButton(int n, const char* name) const {
        auto* card = m_editor->findChild<QGroupBox*>(QStringLiteral("character_%1").arg(n));
        EXPECT_NE(card, nullptr) << "character_" << n;
        return card ? card->findChild<QPushButton*>(QString::fromLatin1(name)) : nullptr;
    }
    void click(QPushButton* button) const {
        ASSERT_NE(button, nullptr);
        QTest::mouseClick(button, Qt::LeftButton);
    }
    QPlainTextEdit* xmlEdit() const { return m_editor->findChild<QPlainTextEdit*>(QStringLiteral("xmlEdit")); }

    void buildTwoCharacters() const {
        click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
        click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
        type(QStringLiteral("character_1_n"), QStringLiteral("alice"));
        type(QStringLiteral("character_1_gender"), QStringLiteral("1girl"));
        type(QStringLiteral("character_1_appearance"), QStringLiteral("long_hair, blue_eyes"));
        type(QStringLiteral("character_2_gender"), QStringLiteral("1boy"));
        type(QStringLiteral("character_2_clothing"), QStringLiteral("suit"));
        // <count>1girl, 1boy</count> follows from the genders (prompt::count_tags).
        type(QStringLiteral("general_style"), QStringLiteral("anime_style"));
    }

    QTemporaryDir m_dir;
    std::unique_ptr<PromptEditor> m_editor;
};

} // namespace

TEST_F(PromptEditorTest, FormBuildsCanonicalXml) {
    QSignalSpy spy(m_editor.get(), &PromptEditor::changed);
    buildTwoCharacters();
    EXPECT_EQ(m_editor->xml().toStdString(), kTwoCharacters);
    EXPECT_EQ(m_editor->document().characters.size(), 2u);
    EXPECT_GT(spy.count(), 0);
}

TEST_F(PromptEditorTest, XmlEditsUpdateTheFormAfterThePause) {
    buildTwoCharacters();
    QString text = m_editor->xml();
    text.replace(QStringLiteral("<gender>1boy</gender>"), QStringLiteral("<gender>1girl</gender>"));
    text.replace(QStringLiteral("<count>1girl, 1boy</count>"), QStringLiteral("<count>2girls</count>"));
    xmlEdit()->setPlainText(text);
    EXPECT_EQ(field(QStringLiteral("character_2_gender"))->text(), QStringLiteral("1boy")); // not yet
    EXPECT_TRUE(QTest::qWaitFor([&] { return field(QStringLiteral("character_2_gender"))->text() == u"1girl"; }, 2000));
    EXPECT_EQ(field(QStringLiteral("general_count"))->text(), QStringLiteral("2girls"));
    EXPECT_EQ(m_editor->xml(), text); // the user's text is not rewritten
}

TEST_F(PromptEditorTest, MalformedXmlShowsDiagnosticAndKeepsTheForm) {
    m_editor->setXml(QStringLiteral("<character_1>\n<n>x</n>\n</character_1>"));
    ASSERT_NE(field(QStringLiteral("character_1_n")), nullptr);
    xmlEdit()->setPlainText(QStringLiteral("<character_1>\n<n>y</m>\n</character_1>"));
    m_editor->flushXml();
    const QStringList diagnostics = m_editor->diagnosticTexts();
    ASSERT_EQ(diagnostics.size(), 1) << diagnostics.join(u'\n').toStdString();
    EXPECT_TRUE(diagnostics.front().startsWith(QStringLiteral("2:5: error: "))) << diagnostics.front().toStdString();
    EXPECT_EQ(field(QStringLiteral("character_1_n"))->text(), QStringLiteral("x"));
    EXPECT_EQ(m_editor->document().characters.at(0).n, QStringList{QStringLiteral("x")});

    // Clicking the diagnostic puts the cursor on it.
    auto* list = m_editor->findChild<QListWidget*>(QStringLiteral("diagnostics"));
    ASSERT_NE(list, nullptr);
    Q_EMIT list->itemClicked(list->item(0));
    const QTextCursor cursor = xmlEdit()->textCursor();
    EXPECT_EQ(cursor.blockNumber(), 1);
    EXPECT_EQ(cursor.positionInBlock(), 4);
}

TEST_F(PromptEditorTest, UnknownElementsSurviveFormEdits) {
    m_editor->setXml(QStringLiteral("<character_1>\n<n>x</n>\n<mood intensity=\"2\">calm</mood>\n</character_1>\n"
                                    "<lens>35mm</lens>\n<general_tags>\n<count>1girl</count>\n</general_tags>"));
    type(QStringLiteral("character_1_gender"), QStringLiteral("1girl"));
    type(QStringLiteral("general_style"), QStringLiteral("sketch"));
    const QString xml = m_editor->xml();
    EXPECT_TRUE(xml.contains(QStringLiteral("<mood intensity=\"2\">calm</mood>"))) << xml.toStdString();
    EXPECT_TRUE(xml.contains(QStringLiteral("<lens>35mm</lens>"))) << xml.toStdString();
    EXPECT_TRUE(xml.contains(QStringLiteral("<gender>1girl</gender>")));
    EXPECT_TRUE(xml.contains(QStringLiteral("<style>sketch</style>")));
}

TEST_F(PromptEditorTest, UndoAndRedoRestoreTheXml) {
    buildTwoCharacters();
    const QString built = m_editor->xml();
    click(cardButton(1, "remove"));
    const QString removed = m_editor->xml();
    EXPECT_NE(removed, built);
    m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), built);
    EXPECT_EQ(field(QStringLiteral("character_1_n"))->text(), QStringLiteral("alice"));
    m_editor->undoStack()->redo();
    EXPECT_EQ(m_editor->xml(), removed);
    // Typing in one field is one step.
    m_editor->undoStack()->undo();
    type(QStringLiteral("character_2_expression"), QStringLiteral("smile"));
    const QString typed = m_editor->xml();
    m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), built);
    EXPECT_EQ(field(QStringLiteral("character_2_expression"))->text(), QString());
    m_editor->undoStack()->redo();
    EXPECT_EQ(m_editor->xml(), typed);
    // Everything undone gives the empty prompt.
    while (m_editor->undoStack()->canUndo())
        m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), QString());
}

TEST_F(PromptEditorTest, MovingAndRemovingRenumbers) {
    m_editor->setXml(QStringLiteral("<character_1>\n<n>a</n>\n</character_1>\n<note>after a</note>\n"
                                    "<character_2>\n<n>b</n>\n</character_2>\n"
                                    "<character_3>\n<n>c</n>\n</character_3>"));
    click(cardButton(3, "moveUp"));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("<character_1>\n<n>a</n>\n</character_1>\n\n<note>after a</note>\n\n"
                                              "<character_2>\n<n>c</n>\n</character_2>\n\n"
                                              "<character_3>\n<n>b</n>\n</character_3>"));
    click(cardButton(1, "moveDown"));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("<character_1>\n<n>c</n>\n</character_1>\n\n"
                                              "<character_2>\n<n>a</n>\n</character_2>\n\n<note>after a</note>\n\n"
                                              "<character_3>\n<n>b</n>\n</character_3>"));
    click(cardButton(1, "remove"));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("<character_1>\n<n>a</n>\n</character_1>\n\n<note>after a</note>\n\n"
                                              "<character_2>\n<n>b</n>\n</character_2>"));
    EXPECT_EQ(field(QStringLiteral("character_2_n"))->text(), QStringLiteral("b"));
    EXPECT_EQ(m_editor->findChild<QGroupBox*>(QStringLiteral("character_3")), nullptr);
    click(cardButton(1, "duplicate"));
    EXPECT_EQ(m_editor->document().characters.size(), 3u);
    EXPECT_EQ(field(QStringLiteral("character_2_n"))->text(), QStringLiteral("a"));
    EXPECT_EQ(field(QStringLiteral("character_3_n"))->text(), QStringLiteral("b"));
    EXPECT_TRUE(m_editor->xml().endsWith(QStringLiteral("<character_3>\n<n>b</n>\n</character_3>")));
}

TEST_F(PromptEditorTest, VocabularyLoadsAndMergesTheUserFolder) {
    const QStringList fields = TagVocabulary::shippedFields();
    for (const char* f : {"gender", "count", "appearance", "clothing", "expression", "action", "position", "style",
                          "background", "lighting", "atmosphere", "quality", "perspective", "objects"})
        EXPECT_TRUE(fields.contains(QString::fromLatin1(f))) << f;
    const TagVocabulary shipped{QString()};
    int total = 0;
    for (const QString& f : fields) {
        EXPECT_FALSE(shipped.tags(f).isEmpty()) << f.toStdString();
        total += static_cast<int>(shipped.tags(f).size());
    }
    EXPECT_GE(total, 300);
    EXPECT_TRUE(shipped.tags(QStringLiteral("appearance")).contains(QStringLiteral("long_hair")));

    const QString userDir = m_dir.filePath(QStringLiteral("uservocab"));
    ASSERT_TRUE(QDir().mkpath(userDir));
    QFile file(userDir + QStringLiteral("/appearance.txt"));
    ASSERT_TRUE(file.open(QIODevice::WriteOnly));
    file.write("# mine\nlong_hair\nmy_custom_tag\n");
    file.close();
    const TagVocabulary merged(userDir);
    const QStringList tags = merged.tags(QStringLiteral("appearance"));
    EXPECT_TRUE(tags.contains(QStringLiteral("my_custom_tag")));
    EXPECT_EQ(tags.count(QStringLiteral("long_hair")), 1);
    EXPECT_EQ(tags.size(), shipped.tags(QStringLiteral("appearance")).size() + 1);
}

TEST_F(PromptEditorTest, CompleterCompletesTheLastTag) {
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    TagChipEdit* edit = field(QStringLiteral("character_1_appearance"));
    ASSERT_NE(edit, nullptr);
    type(QStringLiteral("character_1_appearance"), QStringLiteral("blue_eyes, long_h"));
    EXPECT_EQ(edit->chipTags(), QStringList{QStringLiteral("blue_eyes")});
    EXPECT_EQ(edit->input()->text(), QStringLiteral("long_h"));
    EXPECT_EQ(edit->tagCompleter()->completionPrefix(), QStringLiteral("long_h"));
    EXPECT_EQ(edit->tagCompleter()->currentCompletion(), QStringLiteral("long_hair"));
    Q_EMIT edit->tagCompleter()->activated(QStringLiteral("long_hair"));
    // The accepted completion becomes a chip; the input is empty for the next tag.
    EXPECT_EQ(edit->chipTags(), (QStringList{QStringLiteral("blue_eyes"), QStringLiteral("long_hair")}));
    EXPECT_EQ(edit->input()->text(), QString());
    EXPECT_EQ(edit->text(), QStringLiteral("blue_eyes, long_hair"));
    EXPECT_EQ(m_editor->document().characters.at(0).appearance,
              (QStringList{QStringLiteral("blue_eyes"), QStringLiteral("long_hair")}));
}

TEST_F(PromptEditorTest, LibrarySaveAndInsertRoundTrip) {
    buildTwoCharacters();
    const QString path = m_editor->saveCharacterToLibrary(0, QStringLiteral("Alice / main"));
    ASSERT_FALSE(path.isEmpty());
    EXPECT_EQ(m_editor->libraryEntries(), QStringList{path});
    QFile file(path);
    ASSERT_TRUE(file.open(QIODevice::ReadOnly));
    EXPECT_EQ(file.readAll(), QByteArray("<character_1>\n<n>alice</n>\n<gender>1girl</gender>\n"
                                         "<appearance>long_hair, blue_eyes</appearance>\n</character_1>\n"));
    ASSERT_TRUE(m_editor->insertFromLibrary(path));
    ASSERT_EQ(m_editor->document().characters.size(), 3u);
    auto third = m_editor->document().characters.at(2);
    auto first = m_editor->document().characters.at(0);
    EXPECT_EQ(third.index, 3);
    third.index = 1;
    EXPECT_EQ(third, first);
    EXPECT_EQ(field(QStringLiteral("character_3_n"))->text(), QStringLiteral("alice"));
    EXPECT_FALSE(m_editor->insertFromLibrary(m_dir.filePath(QStringLiteral("missing.xml"))));
}

TEST_F(PromptEditorTest, SetXmlKeepsTheTextVerbatim) {
    const QString text = QStringLiteral("<general_tags><count>1girl</count></general_tags>");
    m_editor->setXml(text);
    EXPECT_EQ(m_editor->xml(), text);
    EXPECT_EQ(field(QStringLiteral("general_count"))->text(), QStringLiteral("1girl"));
    EXPECT_FALSE(m_editor->undoStack()->canUndo());
}

TEST_F(PromptEditorTest, TagChipsFromCommasEnterBackspaceAndRemoveButtons) {
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    TagChipEdit* edit = field(QStringLiteral("character_1_appearance"));
    ASSERT_NE(edit, nullptr);
    const int steps = m_editor->undoStack()->count();
    type(QStringLiteral("character_1_appearance"), QStringLiteral("a, b,"));
    EXPECT_EQ(edit->chipTags(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    EXPECT_EQ(edit->findChildren<QFrame*>(QStringLiteral("tagChip")).size(), 2);
    EXPECT_EQ(edit->input()->text(), QString());
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<appearance>a, b</appearance>")))
        << m_editor->xml().toStdString();
    EXPECT_EQ(m_editor->undoStack()->count(), steps + 1); // one step for the field edit

    // Enter turns the typed text into a chip.
    type(QStringLiteral("character_1_appearance"), QStringLiteral("c"));
    EXPECT_EQ(edit->chipTags().size(), 2);
    QTest::keyClick(edit->input(), Qt::Key_Return);
    EXPECT_EQ(edit->chipTags(), (QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}));
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<appearance>a, b, c</appearance>")));

    // The x button of chip "a" removes it.
    auto chips = edit->findChildren<QFrame*>(QStringLiteral("tagChip"));
    QFrame* chipA = nullptr;
    for (QFrame* chip : chips)
        if (chip->property("tag").toString() == u"a")
            chipA = chip;
    ASSERT_NE(chipA, nullptr);
    auto* remove = chipA->findChild<QToolButton*>(QStringLiteral("removeTag"));
    ASSERT_NE(remove, nullptr);
    QTest::mouseClick(remove, Qt::LeftButton);
    EXPECT_EQ(edit->chipTags(), (QStringList{QStringLiteral("b"), QStringLiteral("c")}));
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<appearance>b, c</appearance>")))
        << m_editor->xml().toStdString();

    // Backspace in the empty input removes the last chip; in a non-empty input it edits the text.
    QTest::keyClick(edit->input(), Qt::Key_Backspace);
    EXPECT_EQ(edit->chipTags(), QStringList{QStringLiteral("b")});
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<appearance>b</appearance>")))
        << m_editor->xml().toStdString();
    type(QStringLiteral("character_1_appearance"), QStringLiteral("xy"));
    QTest::keyClick(edit->input(), Qt::Key_Backspace);
    EXPECT_EQ(edit->input()->text(), QStringLiteral("x"));
    EXPECT_EQ(edit->chipTags(), QStringList{QStringLiteral("b")});
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<appearance>b, x</appearance>")));

    // All of it was one edit of the field: one undo restores the empty field.
    EXPECT_EQ(m_editor->undoStack()->count(), steps + 1);
    m_editor->undoStack()->undo();
    EXPECT_TRUE(edit->chipTags().isEmpty());
    EXPECT_FALSE(m_editor->xml().contains(QStringLiteral("<appearance>")));
}

TEST_F(PromptEditorTest, DroppingACharacterCardReorders) {
    const QString original = QStringLiteral("<character_1>\n<n>a</n>\n</character_1>\n\n<note>after a</note>\n\n"
                                            "<character_2>\n<n>b</n>\n</character_2>\n\n"
                                            "<character_3>\n<n>c</n>\n</character_3>");
    m_editor->setXml(original);
    auto* card1 = m_editor->findChild<QGroupBox*>(QStringLiteral("character_1"));
    ASSERT_NE(card1, nullptr);
    EXPECT_NE(card1->findChild<QLabel*>(QStringLiteral("dragHandle")), nullptr);

    // Not a card: nothing happens.
    QMimeData text;
    text.setText(QStringLiteral("0"));
    EXPECT_FALSE(m_editor->dropCharacter(&text, 2));
    EXPECT_EQ(m_editor->xml(), original);

    // Card 1 dropped on card 3's position: a goes last, its <note> with it.
    QMimeData mime;
    mime.setData(PromptEditor::characterMimeType(), QByteArray("0"));
    ASSERT_TRUE(m_editor->dropCharacter(&mime, 2));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("<character_1>\n<n>b</n>\n</character_1>\n\n"
                                              "<character_2>\n<n>c</n>\n</character_2>\n\n"
                                              "<character_3>\n<n>a</n>\n</character_3>\n\n<note>after a</note>"));
    EXPECT_EQ(field(QStringLiteral("character_3_n"))->text(), QStringLiteral("a"));
    EXPECT_EQ(field(QStringLiteral("character_1_n"))->text(), QStringLiteral("b"));

    // Card 3 dropped on card 2's position.
    QMimeData back;
    back.setData(PromptEditor::characterMimeType(), QByteArray("2"));
    ASSERT_TRUE(m_editor->dropCharacter(&back, 1));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("<character_1>\n<n>b</n>\n</character_1>\n\n"
                                              "<character_2>\n<n>a</n>\n</character_2>\n\n<note>after a</note>\n\n"
                                              "<character_3>\n<n>c</n>\n</character_3>"));

    // Each drop is one undo step.
    m_editor->undoStack()->undo();
    EXPECT_EQ(field(QStringLiteral("character_3_n"))->text(), QStringLiteral("a"));
    m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), original);
    EXPECT_EQ(field(QStringLiteral("character_1_n"))->text(), QStringLiteral("a"));
    EXPECT_FALSE(m_editor->undoStack()->canUndo());
}

namespace {

QPlainTextEdit* freeText(PromptEditor& editor) {
    auto* edit = editor.findChild<QPlainTextEdit*>(QStringLiteral("freeText"));
    EXPECT_NE(edit, nullptr);
    return edit;
}

void typeAtEnd(QPlainTextEdit* edit, const QString& text) {
    edit->setFocus();
    edit->moveCursor(QTextCursor::End);
    QTest::keyClicks(edit, text);
}

} // namespace

// A tag list (an A1111 prompt) and a sentence are prompts of their own: the Form tab shows them in the free-text
// field, said to be what they are (the form looked empty), and editing them there keeps them a tag list or a
// text (no move into <other> or <caption>).
TEST_F(PromptEditorTest, TagListsAndTextAreShownInTheFormAndEditedAsWhatTheyAre) {
    m_editor->setXml(QStringLiteral("1girl, solo, smile"));
    QPlainTextEdit* text = freeText(*m_editor);
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text->toPlainText(), QStringLiteral("1girl, solo, smile"));
    auto* label = m_editor->findChild<QLabel*>(QStringLiteral("freeTextLabel"));
    auto* kind = m_editor->findChild<QLabel*>(QStringLiteral("promptKind"));
    ASSERT_NE(label, nullptr);
    ASSERT_NE(kind, nullptr);
    EXPECT_TRUE(label->text().contains(QStringLiteral("tag list"))) << label->text().toStdString();
    EXPECT_TRUE(kind->isVisible());
    EXPECT_TRUE(kind->text().contains(QStringLiteral("not XML"))) << kind->text().toStdString();
    typeAtEnd(text, QStringLiteral(", blush"));
    EXPECT_EQ(m_editor->xml(), QStringLiteral("1girl, solo, smile, blush"));
    EXPECT_EQ(m_editor->document().kind, charaforge::prompt::Kind::TagList);
    EXPECT_EQ(text->toPlainText(), QStringLiteral("1girl, solo, smile, blush")) << "the field being typed in is kept";

    const QString sentence = QStringLiteral("A girl with silver hair stands under the cherry blossoms.");
    m_editor->setXml(sentence);
    EXPECT_EQ(text->toPlainText(), sentence);
    EXPECT_TRUE(label->text().contains(QStringLiteral("Free text"))) << label->text().toStdString();
    typeAtEnd(text, QStringLiteral(" She smiles."));
    EXPECT_EQ(m_editor->xml(), sentence + QStringLiteral(" She smiles."));
    EXPECT_EQ(m_editor->document().kind, charaforge::prompt::Kind::NaturalLanguage);
    m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), sentence) << "typing is one undo step";
}

// A form field other than the free text turns a tag list into an XML prompt (its tags under Other), and the form
// says so; Undo gives the tag list back.
TEST_F(PromptEditorTest, AFormFieldMakesATagListXmlAndSaysSo) {
    m_editor->setXml(QStringLiteral("1girl, smile"));
    type(QStringLiteral("general_style"), QStringLiteral("anime"));
    const QString xml = m_editor->xml();
    EXPECT_TRUE(xml.contains(QStringLiteral("<other>1girl, smile</other>"))) << xml.toStdString();
    EXPECT_TRUE(xml.contains(QStringLiteral("<style>anime</style>"))) << xml.toStdString();
    auto* kind = m_editor->findChild<QLabel*>(QStringLiteral("promptKind"));
    ASSERT_NE(kind, nullptr);
    EXPECT_TRUE(kind->isVisible());
    EXPECT_TRUE(kind->text().contains(QStringLiteral("Other"))) << kind->text().toStdString();
    EXPECT_EQ(field(QStringLiteral("general_other"))->text(), QStringLiteral("1girl, smile"));
    while (m_editor->undoStack()->canUndo())
        m_editor->undoStack()->undo();
    EXPECT_EQ(m_editor->xml(), QStringLiteral("1girl, smile"));
    EXPECT_EQ(freeText(*m_editor)->toPlainText(), QStringLiteral("1girl, smile"));
}

// The <caption> of an XML prompt is the same field: shown (it was invisible) and edited in place.
TEST_F(PromptEditorTest, TheCaptionOfAnXmlPromptIsShownAndEdited) {
    m_editor->setXml(
        QStringLiteral("<caption>a quiet street</caption>\n<general_tags><style>anime</style></general_tags>"));
    QPlainTextEdit* text = freeText(*m_editor);
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text->toPlainText(), QStringLiteral("a quiet street"));
    EXPECT_FALSE(m_editor->findChild<QLabel*>(QStringLiteral("promptKind"))->isVisible());
    typeAtEnd(text, QStringLiteral(" at night"));
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<caption>a quiet street at night</caption>")))
        << m_editor->xml().toStdString();
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<style>anime</style>")));
}

// Count tags follow the characters' genders (danbooru's 1girl / 2girls, multiple_girls / 1girl, 1boy) while they
// are the derived ones; count tags the user typed are theirs and stay. Adding a character used to leave them.
TEST_F(PromptEditorTest, CountTagsFollowTheGendersUntilTheUserTypesTheirOwn) {
    m_editor->setXml(QStringLiteral("<character_1><n>alice</n><gender>1girl</gender></character_1>"
                                    "<general_tags><count>1girl</count></general_tags>"));
    auto count = [&] { return m_editor->document().general_tags.value_or(charaforge::prompt::GeneralTags{}).count; };
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    type(QStringLiteral("character_2_gender"), QStringLiteral("1girl"));
    EXPECT_EQ(count(), (QStringList{QStringLiteral("2girls"), QStringLiteral("multiple_girls")}));
    EXPECT_EQ(field(QStringLiteral("general_count"))->text(), QStringLiteral("2girls, multiple_girls"));
    click(cardButton(2, "remove"));
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    type(QStringLiteral("character_2_gender"), QStringLiteral("1boy"));
    EXPECT_EQ(count(), (QStringList{QStringLiteral("1girl"), QStringLiteral("1boy")}));
    EXPECT_TRUE(m_editor->xml().contains(QStringLiteral("<count>1girl, 1boy</count>")))
        << m_editor->xml().toStdString();
    click(cardButton(1, "duplicate"));
    EXPECT_EQ(count(),
              (QStringList{QStringLiteral("2girls"), QStringLiteral("multiple_girls"), QStringLiteral("1boy")}));

    // The user's own count tags are left alone.
    type(QStringLiteral("general_count"), QStringLiteral("solo_focus"));
    const QStringList mine = count();
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    type(QStringLiteral("character_4_gender"), QStringLiteral("1boy"));
    EXPECT_EQ(count(), mine);
}

// A card dragged onto another one through the widgets' own drag events (not dropCharacter): the drop is taken as
// a move, the order changes once the drop event is over, and any other drag is refused.
TEST_F(PromptEditorTest, ACardDropEventReordersTheCards) {
    m_editor->setXml(QStringLiteral("<character_1><n>a</n></character_1><character_2><n>b</n></character_2>"
                                    "<character_3><n>c</n></character_3>"));
    auto* card1 = m_editor->findChild<QGroupBox*>(QStringLiteral("character_1"));
    ASSERT_NE(card1, nullptr);
    EXPECT_TRUE(card1->acceptDrops());
    const QPoint at = card1->rect().center();

    QMimeData other;
    other.setText(QStringLiteral("2"));
    QDragEnterEvent refused(at, Qt::MoveAction, &other, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(card1, &refused);
    EXPECT_FALSE(refused.isAccepted());

    QMimeData mime;
    mime.setData(PromptEditor::characterMimeType(), QByteArray("2"));
    QDragEnterEvent enter(at, Qt::MoveAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(card1, &enter);
    EXPECT_TRUE(enter.isAccepted());
    EXPECT_EQ(enter.dropAction(), Qt::MoveAction);
    QDropEvent drop(QPointF(at), Qt::MoveAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(card1, &drop);
    EXPECT_TRUE(drop.isAccepted());
    EXPECT_EQ(m_editor->document().characters.at(0).n, QStringList{QStringLiteral("a")}) << "not inside the event";
    QApplication::processEvents();
    const auto& characters = m_editor->document().characters;
    ASSERT_EQ(characters.size(), 3u);
    EXPECT_EQ(characters[0].n, QStringList{QStringLiteral("c")});
    EXPECT_EQ(characters[1].n, QStringList{QStringLiteral("a")});
    EXPECT_EQ(characters[2].n, QStringList{QStringLiteral("b")});
    EXPECT_EQ(field(QStringLiteral("character_1_n"))->text(), QStringLiteral("c"));
}

// A new card (added, duplicated or inserted from the library) is scrolled into view in a form too short for it.
TEST_F(PromptEditorTest, TheFormScrollsToANewCharacterCard) {
    m_editor->resize(700, 400);
    auto* add = m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter"));
    for (int i = 0; i < 3; ++i)
        click(add);
    QApplication::processEvents();
    QApplication::processEvents();
    auto* card = m_editor->findChild<QGroupBox*>(QStringLiteral("character_3"));
    ASSERT_NE(card, nullptr);
    auto* scroll = qobject_cast<QScrollArea*>(card->parentWidget()->parentWidget()->parentWidget()->parentWidget());
    ASSERT_NE(scroll, nullptr);
    EXPECT_GT(scroll->verticalScrollBar()->value(), 0);
    const int top = card->mapTo(scroll->viewport(), QPoint(0, 0)).y();
    EXPECT_GE(top, 0);
    EXPECT_LT(top, scroll->viewport()->height()) << "the third card is in view";
}

// Enter while the completion popup is open commits the tag in one press: the typed text when no completion is
// chosen, the chosen completion otherwise (the popup took the first Enter and the tag needed a second).
TEST_F(PromptEditorTest, EnterWithTheCompletionPopupOpenCommitsTheTagInOnePress) {
    click(m_editor->findChild<QPushButton*>(QStringLiteral("addCharacter")));
    TagChipEdit* edit = field(QStringLiteral("character_1_appearance"));
    ASSERT_NE(edit, nullptr);
    type(QStringLiteral("character_1_appearance"), QStringLiteral("long_h"));
    QAbstractItemView* popup = edit->tagCompleter()->popup();
    ASSERT_TRUE(popup->isVisible());
    QTest::keyClick(popup, Qt::Key_Return); // where the key goes while the popup is open
    EXPECT_EQ(edit->chipTags(), QStringList{QStringLiteral("long_h")});
    EXPECT_EQ(edit->input()->text(), QString());
    EXPECT_FALSE(popup->isVisible());

    type(QStringLiteral("character_1_appearance"), QStringLiteral("long_h"));
    ASSERT_TRUE(popup->isVisible());
    QTest::keyClick(popup, Qt::Key_Down); // chooses the first completion
    ASSERT_TRUE(popup->currentIndex().isValid());
    QTest::keyClick(popup, Qt::Key_Return);
    EXPECT_EQ(edit->chipTags(), (QStringList{QStringLiteral("long_h"), QStringLiteral("long_hair")}));
    EXPECT_EQ(edit->input()->text(), QString());
    EXPECT_EQ(m_editor->document().characters.at(0).appearance,
              (QStringList{QStringLiteral("long_h"), QStringLiteral("long_hair")}));
}
