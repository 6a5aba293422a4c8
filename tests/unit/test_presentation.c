/* test_presentation.c — what a Presentation document is, from its text: the
 * textual sniff and the parsed root's type. (Canvases, labels and services
 * are tested through the manifest loader, test_manifest.c.) */
#include "unit.h"
#include "presentation.h"

#include <string.h>

TEST(test_presentation_sniff)
{
    CHECK(iiifs_presentation_sniff("{\"@type\": \"sc:Manifest\"}", 24));
    CHECK(iiifs_presentation_sniff("{\"id\": \"x\", \"type\" :\n \"Collection\"}", 34));
    CHECK(!iiifs_presentation_sniff("{\"@id\": \"x\", \"width\": 1, \"height\": 1}", 37));
    CHECK(!iiifs_presentation_sniff("{\"type\": \"ImageService3\"}", 25));
}

static int kind(const char *doc)
{
    return iiifs_presentation_kind(doc, strlen(doc));
}

TEST(test_presentation_kind_is_the_root_type)
{
    CHECK(kind("{\"@type\": \"sc:Manifest\", \"sequences\": []}") == 1);
    CHECK(kind("{\"type\": \"Manifest\", \"items\": []}") == 1);
    CHECK(kind("{\"@type\": \"sc:Collection\", \"manifests\": []}") == 2);
    /* a collection that lists manifests first is still a collection */
    CHECK(kind("{\"items\": [{\"id\": \"m\", \"type\": \"Manifest\"}], \"type\": \"Collection\"}")
          == 2);
    /* a manifest inside something else, an image, garbage */
    CHECK(kind("{\"x\": {\"type\": \"Manifest\"}}") == 0);
    CHECK(kind("{\"@id\": \"x\", \"width\": 1, \"height\": 1}") == 0);
    CHECK(kind("not json") == 0);
    CHECK(kind("[\"Manifest\"]") == 0);
}
