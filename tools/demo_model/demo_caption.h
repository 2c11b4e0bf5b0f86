#pragma once
// The caption of a demo image: NewBie's XML prompt (`<character_N>` blocks with gender, appearance,
// clothing, expression, position; `<general_tags>` with count, background, objects) or, when the scene asks
// for it, the same tags as a plain danbooru tag list. Every tag names something the renderer drew, and sits
// in the field whose vocabulary file (resources/vocabulary/<field>.txt) lists it.
#include "scene_spec.h"

#include "charaforge/prompt/prompt.h"

#include <string>

namespace charaforge::demo {

// The caption's prompt model (Kind::Xml, or Kind::TagList when scene.tag_list_caption).
prompt::Document caption_document(const SceneSpec& scene);

// prompt::serialise(caption_document(scene)) as UTF-8.
std::string caption_text(const SceneSpec& scene);

} // namespace charaforge::demo
