// main() of test binaries that paint (QPdfWriter, fonts): a QGuiApplication (offscreen under CTest).
#include <QGuiApplication>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    // These tests never need a real display; test discovery (gtest_discover_tests) runs the binary without the
    // tests' ENVIRONMENT, so choose the offscreen platform here unless the caller picked one.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
