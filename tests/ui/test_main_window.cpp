// Offscreen widget tests of the main window (QT_QPA_PLATFORM=offscreen).
#include "ui/main_window.h"

#include <QApplication>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>

#include <gtest/gtest.h>

using charaforge::ui::GenerationSettings;
using charaforge::ui::MainWindow;

TEST(MainWindow, GenerateEmitsTheFormsSettings) {
    MainWindow w;
    w.show();
    GenerationSettings s;
    s.prompt = QStringLiteral("<general_tags><count>1girl</count></general_tags>");
    s.negative = QStringLiteral("lowres");
    s.width = 832;
    s.height = 1216;
    s.steps = 17;
    s.sampler = QStringLiteral("midpoint");
    s.cfg = 4.5;
    s.seed = 1234;
    w.setSettings(s);
    QSignalSpy spy(&w, &MainWindow::generateRequested);
    QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("generate")), Qt::LeftButton);
    ASSERT_EQ(spy.count(), 1);
    auto got = spy.at(0).at(0).value<GenerationSettings>();
    EXPECT_EQ(got.prompt, s.prompt);
    EXPECT_EQ(got.negative, s.negative);
    EXPECT_EQ(got.width, 832);
    EXPECT_EQ(got.height, 1216);
    EXPECT_EQ(got.steps, 17);
    EXPECT_EQ(got.sampler, QStringLiteral("midpoint"));
    EXPECT_DOUBLE_EQ(got.cfg, 4.5);
    EXPECT_EQ(got.seed, 1234);
}

TEST(MainWindow, ShowsNoticeProgressImageAndErrors) {
    MainWindow w;
    w.show();
    auto* notice = w.findChild<QLabel*>(QStringLiteral("modelNotice"));
    EXPECT_FALSE(notice->isVisible());
    w.setModelNotice(QStringLiteral("<b>Test model in use.</b> images are noise"));
    EXPECT_TRUE(notice->isVisible());
    w.showProgress(3, 10);
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("3 of 10")));
    QImage img(64, 48, QImage::Format_RGB888);
    img.fill(Qt::red);
    w.showImage(img);
    EXPECT_EQ(w.currentImage().size(), QSize(64, 48));
    w.showError(QStringLiteral("out of memory"));
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("out of memory")));
    w.setModelDescription(QStringLiteral("Test model · cpu fp32"), QStringLiteral("model: /x\ntransformer: /x/t"));
    auto* model = w.findChild<QLabel*>(QStringLiteral("modelLabel"));
    EXPECT_EQ(model->text(), QStringLiteral("Test model · cpu fp32"));
    EXPECT_TRUE(model->toolTip().contains(QStringLiteral("transformer")));
    w.setBusy(true);
    EXPECT_FALSE(w.findChild<QPushButton*>(QStringLiteral("generate"))->isEnabled());
    w.setBusy(false);
    EXPECT_TRUE(w.findChild<QPushButton*>(QStringLiteral("generate"))->isEnabled());
}

int main(int argc, char** argv) {
    // Widget tests never need a display (CTest's discovery runs this binary without one too).
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    qRegisterMetaType<GenerationSettings>();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
