// main() of test binaries that paint (QPdfWriter, fonts): a QGuiApplication (offscreen under CTest).
#include <QGuiApplication>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    QGuiApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
