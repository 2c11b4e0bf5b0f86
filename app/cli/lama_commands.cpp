#include "lama_commands.h"

#include "progress_line.h"

#include "charaforge/engine/erase_scheduler.h"
#include "charaforge/engine/lama.h"
#include "charaforge/imaging/erase.h"
#include "charaforge/imaging/png_io.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace charaforge::cli {
namespace {

namespace fs = std::filesystem;

struct EraseOptionsCli {
    std::string lama;
    std::vector<std::string> images, masks;
    std::string out;
    std::string strategy = "crop";
    std::string device = "auto";
    int batch = 8;
    int max_wait_ms = 25;
    bool skip_md5 = false;
};

// One image to erase, checked and read before any work.
struct EraseJob {
    std::string image_path, mask_path, out_path;
    imaging::RgbImage image;
    imaging::GrayImage mask;
    imaging::ErasePlan plan;
    std::vector<imaging::RgbImage> outputs;
    std::size_t done = 0;
    std::string error;
};

bool is_folder(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

// The PNG files of a folder, sorted by name.
std::vector<std::string> pngs_in(const std::string& folder, const std::string& option) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        auto ext = it->path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ext == ".png" && it->is_regular_file())
            out.push_back(it->path().string());
    }
    if (ec)
        throw std::invalid_argument(option + ": " + folder + ": cannot read the folder: " + ec.message());
    std::sort(out.begin(), out.end());
    if (out.empty())
        throw std::invalid_argument(option + ": " + folder + ": the folder holds no .png file");
    return out;
}

} // namespace

std::vector<std::pair<std::string, std::string>> pair_erase_inputs(const std::vector<std::string>& imageArgs,
                                                                   const std::vector<std::string>& maskArgs) {
    std::vector<std::string> images;
    for (const auto& path : imageArgs) {
        if (is_folder(path)) {
            const auto found = pngs_in(path, "--image");
            images.insert(images.end(), found.begin(), found.end());
        } else if (!fs::is_regular_file(path)) {
            throw std::invalid_argument("--image: " + path + ": no such file or folder");
        } else {
            images.push_back(path);
        }
    }
    std::vector<std::string> masks;
    if (maskArgs.size() == 1 && is_folder(maskArgs[0])) {
        for (const auto& image : images) {
            // IOPaint's batch pairing: the image's name, else its stem with .png.
            auto mask = (fs::path(maskArgs[0]) / fs::path(image).filename()).string();
            if (!fs::is_regular_file(mask))
                mask = (fs::path(maskArgs[0]) / fs::path(image).stem()).string() + ".png";
            if (!fs::is_regular_file(mask))
                throw std::invalid_argument("--mask: " + mask + ": no mask for " + image + " in the mask folder");
            masks.push_back(mask);
        }
    } else if (maskArgs.size() == 1 && images.size() > 1) {
        if (!fs::is_regular_file(maskArgs[0]))
            throw std::invalid_argument("--mask: " + maskArgs[0] + ": no such file or folder");
        masks.assign(images.size(), maskArgs[0]); // one mask for every image (IOPaint's batch mode)
    } else {
        if (maskArgs.size() != images.size())
            throw std::invalid_argument(
                "--mask: " + std::to_string(maskArgs.size()) + " masks given for " + std::to_string(images.size()) +
                " images (give one per image, one for all, or one folder of masks named as the images)");
        for (const auto& mask : maskArgs)
            if (!fs::is_regular_file(mask))
                throw std::invalid_argument("--mask: " + mask + ": no such file");
        masks = maskArgs;
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::size_t i = 0; i < images.size(); ++i)
        pairs.emplace_back(images[i], masks[i]);
    return pairs;
}

namespace {

// Pairs images with masks and output paths and reads them all; throws std::invalid_argument naming the file.
std::vector<EraseJob> plan_jobs(const EraseOptionsCli& o, const imaging::EraseOptions& strategy) {
    const auto pairs = pair_erase_inputs(o.images, o.masks);
    const bool single = o.images.size() == 1 && !is_folder(o.images[0]);
    if (!single && !is_folder(o.out))
        throw std::invalid_argument("--out: " + o.out + ": with several images --out must be an existing folder");
    std::vector<EraseJob> jobs(pairs.size());
    std::map<std::string, std::string> outputs;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        auto& job = jobs[i];
        job.image_path = pairs[i].first;
        job.mask_path = pairs[i].second;
        job.out_path = single ? o.out : (fs::path(o.out) / fs::path(job.image_path).filename()).string();
        check_output_file(job.out_path, "--out");
        if (auto [it, fresh] = outputs.emplace(job.out_path, job.image_path); !fresh)
            throw std::invalid_argument("--out: " + job.out_path + ": written for both " + it->second + " and " +
                                        job.image_path);
        try {
            job.image = imaging::read_png(job.image_path);
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument(std::string("--image: ") + e.what());
        }
        try {
            job.mask = imaging::read_mask_png(job.mask_path, job.image.width, job.image.height, job.image_path);
        } catch (const std::exception& e) { // unreadable (runtime_error) or of another size (invalid_argument)
            throw std::invalid_argument(std::string("--mask: ") + e.what());
        }
        job.plan = imaging::plan_erase(job.image, job.mask, strategy);
        job.outputs.resize(job.plan.tiles.size());
    }
    return jobs;
}

engine::LamaTile to_tile(const imaging::EraseTile& t) {
    return engine::LamaTile{t.image.width, t.image.height, t.image.rgb, t.mask.data};
}

int run_erase(const EraseOptionsCli& o) {
    imaging::EraseOptions strategy;
    strategy.strategy = *imaging::parse_erase_strategy(o.strategy);
    auto jobs = plan_jobs(o, strategy);
    engine::LamaOptions lo;
    lo.device = o.device;
    lo.verify_md5 = !o.skip_md5;
    lo.max_batch = o.batch;
    const auto lama = engine::LamaInpainter::load(o.lama, lo);
    std::mutex mutex;
    std::size_t images_done = 0, failed = 0;
    auto finish = [&](EraseJob& job) { // under mutex, once every tile of the job is back
        try {
            if (job.error.empty())
                imaging::write_png_atomic(job.out_path,
                                          imaging::compose_erase(job.image, job.mask, job.plan, job.outputs));
        } catch (const std::exception& e) {
            job.error = e.what();
        }
        if (!job.error.empty()) {
            ++failed;
            progress::note("erase: " + job.image_path + ": " + job.error);
        }
        ++images_done;
        progress::show("erase: " + std::to_string(images_done) + "/" + std::to_string(jobs.size()) + " images");
    };
    {
        engine::EraseScheduler scheduler(
            [&](const std::vector<const engine::LamaTile*>& t) { return lama->inpaint(t); },
            engine::EraseSchedulerOptions{o.batch, o.max_wait_ms},
            [&](int w, int h) { return lama->suggest_batch(w, h); });
        for (auto& job : jobs) {
            if (job.plan.tiles.empty()) {
                std::lock_guard lock(mutex);
                finish(job);
                continue;
            }
            for (std::size_t i = 0; i < job.plan.tiles.size(); ++i)
                scheduler.submit(to_tile(job.plan.tiles[i]), [&, i](engine::EraseResult r) {
                    std::lock_guard lock(mutex);
                    if (r.ok)
                        job.outputs[i] = imaging::RgbImage{r.output.width, r.output.height, std::move(r.output.rgb)};
                    else if (job.error.empty())
                        job.error = r.error;
                    if (++job.done == job.plan.tiles.size())
                        finish(job);
                });
        }
        scheduler.flush();
        scheduler.wait_idle();
    }
    progress::end();
    std::cout << "erased " << (jobs.size() - failed) << " of " << jobs.size() << " images\n";
    if (failed > 0) {
        std::cerr << "erase: " << failed << " of " << jobs.size() << " images failed\n";
        return kExitFailed;
    }
    return kExitOk;
}

// Fixtures for the end-to-end test: a.png and c.png 40x24, b.png 64x48 (gradients) with masks/NAME.png
// (a rectangle, 255 inside), extra/soft-mask.png (a.png's size, values 0..254), extra/small-mask.png (16x16),
// extra/red-mask.png (a.png's size, a pure red rectangle).
void write_test_images(const std::string& dir) {
    auto image = [](int w, int h, int seed) {
        imaging::RgbImage im{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3)};
        for (std::size_t i = 0; i < im.rgb.size(); ++i)
            im.rgb[i] = static_cast<uint8_t>((i * 37 + seed * 11) % 251);
        return im;
    };
    auto mask = [](int w, int h, bool soft) {
        imaging::RgbImage im{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3, 0)};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const bool inside = y >= h / 4 && y < 3 * h / 4 && x >= w / 4 && x < 3 * w / 4;
                const auto v = static_cast<uint8_t>(soft ? (x * 255 / w) : (inside ? 255 : 0));
                for (int c = 0; c < 3; ++c)
                    im.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] = v;
            }
        return im;
    };
    fs::create_directories(fs::path(dir) / "masks");
    fs::create_directories(fs::path(dir) / "extra");
    imaging::write_png_atomic((fs::path(dir) / "a.png").string(), image(40, 24, 1));
    imaging::write_png_atomic((fs::path(dir) / "b.png").string(), image(64, 48, 2));
    imaging::write_png_atomic((fs::path(dir) / "c.png").string(), image(40, 24, 3));
    imaging::write_png_atomic((fs::path(dir) / "masks" / "c.png").string(), mask(40, 24, false));
    imaging::write_png_atomic((fs::path(dir) / "masks" / "a.png").string(), mask(40, 24, false));
    imaging::write_png_atomic((fs::path(dir) / "masks" / "b.png").string(), mask(64, 48, false));
    imaging::write_png_atomic((fs::path(dir) / "extra" / "soft-mask.png").string(), mask(40, 24, true));
    imaging::write_png_atomic((fs::path(dir) / "extra" / "small-mask.png").string(), mask(16, 16, false));
    auto red = mask(40, 24, false); // a red rectangle: grey 76, no hole
    for (std::size_t i = 0; i < red.rgb.size(); i += 3)
        red.rgb[i + 1] = red.rgb[i + 2] = 0;
    imaging::write_png_atomic((fs::path(dir) / "extra" / "red-mask.png").string(), red);
}

void add_erase(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<EraseOptionsCli>();
    auto* sub = app.add_subcommand("erase", "Erase masked regions with LaMa (big-lama.pt or its safetensors copy)");
    add_erase_input_options(sub, o->lama, o->images, o->masks, o->strategy);
    sub->add_option("--out", o->out, "output PNG (one image), or an existing folder (several)")->required();
    add_device_option(sub, o->device);
    add_int(sub, "--batch", o->batch, 1, 64, "tiles per forward at most");
    add_int(sub, "--max-wait-ms", o->max_wait_ms, 0, 60000, "how long a tile waits for others of its size");
    sub->add_flag("--skip-md5", o->skip_md5, "accept a .pt whose MD5 is not big-lama.pt's (your own export)");
    set_action(sub, chosen, [o] { return run_erase(*o); });
}

void add_lama(CLI::App& app, Action& chosen) {
    auto* lama = app.add_subcommand("lama", "LaMa weight files");
    lama->require_subcommand(1);
    {
        struct Convert {
            std::string in, out;
            bool skip_md5 = false;
        };
        auto o = std::make_shared<Convert>();
        auto* sub = lama->add_subcommand("convert", "Write big-lama.pt's generator as safetensors");
        sub->add_option("IN", o->in, "big-lama.pt")->required()->check(CLI::ExistingFile);
        sub->add_option("OUT", o->out, "output .safetensors")->required();
        sub->add_flag("--skip-md5", o->skip_md5, "accept a .pt whose MD5 is not big-lama.pt's (your own export)");
        set_action(sub, chosen, [o] {
            check_output_file(o->out, "OUT");
            const int n = engine::convert_lama_to_safetensors(o->in, o->out, !o->skip_md5);
            std::cout << "wrote " << o->out << " (" << n << " tensors)\n";
            return kExitOk;
        });
    }
    {
        struct Make {
            std::string out, images;
        };
        auto o = std::make_shared<Make>();
        auto* sub = lama->add_subcommand("make-test-model",
                                         "Write a tiny random LaMa generator (.pt or .safetensors, for tests)");
        sub->add_option("OUT", o->out, "output file")->required();
        sub->add_option("--images", o->images, "also write test images and masks into this existing folder");
        set_action(sub, chosen, [o] {
            check_output_file(o->out, "OUT");
            if (!o->images.empty() && !is_folder(o->images))
                throw std::invalid_argument("--images: " + o->images + ": not an existing folder");
            engine::write_lama_test_model(o->out);
            if (!o->images.empty())
                write_test_images(o->images);
            return kExitOk;
        });
    }
}

} // namespace

void add_erase_input_options(CLI::App* sub, std::string& lama, std::vector<std::string>& images,
                             std::vector<std::string>& masks, std::string& strategy) {
    sub->add_option("--lama,--model", lama, "big-lama.pt or a .safetensors of its generator")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--image", images, "PNG image, or a folder of PNGs (repeatable)")->required();
    sub->add_option("--mask", masks,
                    "mask PNG per image (>= 127 is a hole), one for all, or a folder of masks named as the images")
        ->required();
    sub->add_option("--strategy", strategy, "large images: original, resize (to 1280 px) or crop (800 px+, margin 128)")
        ->check(CLI::IsMember({"original", "resize", "crop"}))
        ->capture_default_str();
}

void add_lama_commands(CLI::App& app, Action& chosen) {
    add_lama(app, chosen);
    add_erase(app, chosen);
}

} // namespace charaforge::cli
