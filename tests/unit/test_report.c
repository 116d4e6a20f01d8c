/* Run reports: the choice and the captions of the most confident mistakes (misclassified.png). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ptrain/report.h"

static const char *const binary[2] = {"normal", "pneumonia"};

/* A decision taken at a Youden threshold of 0.74: the grid must show p(pneumonia) and the
 * threshold, and rank by the distance from it, not by p(predicted class). */
Test(report, binary_mistakes_rank_by_distance_from_the_threshold)
{
    /* p(normal), p(pneumonia) per sample */
    const float probs[] = {
        0.69f, 0.31f, /* 0: true pneumonia, said normal: 0.43 below the threshold */
        0.10f, 0.90f, /* 1: true normal, said pneumonia: 0.16 above */
        0.20f, 0.80f, /* 2: true pneumonia, right */
        0.30f, 0.70f, /* 3: true pneumonia, said normal (0.70 < 0.74): 0.04 below */
        0.95f, 0.05f, /* 4: true normal, right */
    };
    const int32_t labels[] = {1, 0, 1, 1, 0};
    pt_mistake m[5];
    int64_t n = pt_report_mistakes(labels, probs, 5, 2, 0.74, m);
    cr_assert_eq(n, 3);
    cr_assert_eq(m[0].index, 0, "p(predicted)=0.69 but 0.43 from the threshold: first");
    cr_assert_eq(m[1].index, 1);
    cr_assert_eq(m[2].index, 3);
    cr_assert_eq(m[0].predicted, 0);
    cr_assert_eq(m[1].predicted, 1);

    char caption[256];
    pt_report_mistake_caption(caption, sizeof caption, binary, 2, labels[0], &m[0],
                              probs + 2 * m[0].index, 0.74, "test/PNEUMONIA/person12_virus_3.jpeg");
    cr_assert(strstr(caption, "true pneumonia, said normal"), "%s", caption);
    cr_assert(strstr(caption, "p(pneumonia) 0.31 < 0.74"), "%s", caption);
    cr_assert(strstr(caption, "person12_virus_3.jpeg"), "%s", caption);
    cr_assert(!strstr(caption, "0.69"), "p(predicted) is not what the decision was taken on");
    pt_report_mistake_caption(caption, sizeof caption, binary, 2, labels[1], &m[1],
                              probs + 2 * m[1].index, 0.74, NULL);
    cr_assert(strstr(caption, "p(pneumonia) 0.90 >= 0.74"), "%s", caption);
}

/* Three classes: the decision is the largest probability; the margin is p(said) - p(true). */
Test(report, multiclass_mistakes_rank_by_margin_over_the_true_class)
{
    static const char *const names[3] = {"normal", "bacteria", "virus"};
    const float probs[] = {
        0.10f, 0.50f, 0.40f, /* 0: true virus, said bacteria, margin 0.10 */
        0.70f, 0.10f, 0.20f, /* 1: true bacteria, said normal, margin 0.60 */
        0.10f, 0.10f, 0.80f, /* 2: right */
    };
    const int32_t labels[] = {2, 1, 2};
    pt_mistake m[3];
    int64_t n = pt_report_mistakes(labels, probs, 3, 3, 0.5, m);
    cr_assert_eq(n, 2);
    cr_assert_eq(m[0].index, 1);
    cr_assert_eq(m[1].index, 0);
    char caption[256];
    pt_report_mistake_caption(caption, sizeof caption, names, 3, labels[0], &m[1], probs, 0.5,
                              "a/b/x.png");
    cr_assert(strstr(caption, "true virus, said bacteria"), "%s", caption);
    cr_assert(strstr(caption, "p(bacteria) 0.50, p(virus) 0.40"), "%s", caption);
    cr_assert(strstr(caption, "x.png"), "%s", caption);
}
