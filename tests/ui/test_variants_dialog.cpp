// The Variants dialog: the product and its job count before queueing, and the --vary texts it produces.
#include "ui/variants_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QPushButton>

#include <gtest/gtest.h>

using charaforge::ui::VariantsDialog;

namespace {
QPushButton* okButton(VariantsDialog& d) {
    return d.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
}
} // namespace

TEST(VariantsDialog, ShowsTheProductAndItsJobCountBeforeQueueing) {
    VariantsDialog d;
    EXPECT_EQ(d.jobCount(), 0);
    EXPECT_FALSE(okButton(d)->isEnabled());
    d.addAxis(QStringLiteral("style"), QStringLiteral("watercolor | cel shading, flat colors |  | sketch"));
    d.addAxis(QStringLiteral("seeds"), QStringLiteral("4"));
    EXPECT_EQ(d.jobCount(), 12);
    EXPECT_EQ(d.productText(), QStringLiteral("style (3) × seeds (4) = 12 jobs"));
    EXPECT_TRUE(okButton(d)->isEnabled());
    EXPECT_EQ(okButton(d)->text(), QStringLiteral("Queue 12 jobs"));
    EXPECT_EQ(d.varyTexts(), (QStringList{QStringLiteral("style=watercolor|cel shading, flat colors|sketch"),
                                          QStringLiteral("seeds=4")}));
    // The form's count does not add seeds when a seed axis exists.
    d.setFormCount(5);
    EXPECT_EQ(d.jobCount(), 12);
}

TEST(VariantsDialog, AnEmptyOrInvalidAxisOrATooLargeProductCannotBeQueued) {
    VariantsDialog d;
    d.addAxis(QStringLiteral("cfg"), QStringLiteral(" | "));
    EXPECT_EQ(d.jobCount(), 0);
    EXPECT_FALSE(okButton(d)->isEnabled());
    EXPECT_EQ(d.productText(), QStringLiteral("cfg: give at least one alternative."));
    d.findChild<QLineEdit*>(QStringLiteral("axisValues"))->setText(QStringLiteral("3.5|5|7"));
    EXPECT_EQ(d.jobCount(), 3);
    d.addAxis(QStringLiteral("seeds"), QStringLiteral("zero"));
    EXPECT_FALSE(okButton(d)->isEnabled());
    EXPECT_TRUE(d.productText().startsWith(QStringLiteral("Seeds: give a count"))) << d.productText().toStdString();
    d.addAxis(QStringLiteral("steps"), QStringLiteral("20|28"));
    auto edits = d.findChildren<QLineEdit*>(QStringLiteral("axisValues"));
    ASSERT_EQ(edits.size(), 3);
    edits[1]->setText(QStringLiteral("5000")); // 3 × 5000 × 2 = 30000 > 10000
    EXPECT_FALSE(okButton(d)->isEnabled());
    EXPECT_TRUE(d.productText().contains(QStringLiteral("too many"))) << d.productText().toStdString();
}

TEST(VariantsDialog, ACharacterFieldAxisNamesItsCharacterAndField) {
    VariantsDialog d;
    d.setFormCount(2);
    d.addAxis(QStringLiteral("character"), QStringLiteral("school uniform | maid outfit"), 2,
              QStringLiteral("clothing"));
    EXPECT_EQ(d.varyTexts(), (QStringList{QStringLiteral("character_2.clothing=school uniform|maid outfit")}));
    EXPECT_EQ(d.productText(), QStringLiteral("character_2.clothing (2) × seed (2, the form's count) = 4 jobs"));
    // Switching the kind of the row changes the axis.
    d.findChild<QComboBox*>(QStringLiteral("axisKind"))->setCurrentIndex(VariantsDialog::kinds().indexOf("style+"));
    EXPECT_EQ(d.varyTexts(), (QStringList{QStringLiteral("style+=school uniform|maid outfit")}));
}
