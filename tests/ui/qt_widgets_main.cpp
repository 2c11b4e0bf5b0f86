// main() of the widget test binaries: a QApplication, offscreen unless the caller chose a platform (CTest's
// test discovery runs the binaries without the tests' ENVIRONMENT, and no test needs a real display).
#include <QApplication>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
