package config

// closestWord returns the candidate that looks most like word, or "" when
// none is close enough to be a likely typo. Words are compared by the
// pairs of neighbouring characters they contain (letters one by one,
// digits as one class, anything else as another, plus the word's two
// ends): a swapped, missing or doubled letter changes only a few pairs.
// A candidate is close when the pairs differ by at most twice the length
// of either word. Ties go to the earlier candidate.
func closestWord(word string, candidates []string) string {
	fw := pairCounts(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := pairDistance(fw, pairCounts(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 2*len(word) || bestDist > 2*len(best) {
		return ""
	}
	return best
}

// charClass maps a character to 1..26 for letters (either case), 27 for
// digits and 28 for the rest; 0 and 29 stand for the word's start and end.
func charClass(r byte) int {
	switch {
	case r >= 'a' && r <= 'z':
		return int(r-'a') + 1
	case r >= 'A' && r <= 'Z':
		return int(r-'A') + 1
	case r >= '0' && r <= '9':
		return 27
	}
	return 28
}

const classes = 30

func pairCounts(w string) map[int]int {
	counts := make(map[int]int, len(w)+1)
	prev := 0
	for i := 0; i < len(w); i++ {
		c := charClass(w[i])
		counts[prev*classes+c]++
		prev = c
	}
	counts[prev*classes+classes-1]++
	return counts
}

func pairDistance(a, b map[int]int) int {
	d := 0
	for k, n := range a {
		d += abs(n - b[k])
	}
	for k, n := range b {
		if _, ok := a[k]; !ok {
			d += n
		}
	}
	return d
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
