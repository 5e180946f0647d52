import { configure } from '@testing-library/react-native';

// A cold run transforms React Native and Expo on first use, inside the first test of each
// file; on a loaded two-core machine that alone can take longer than the defaults allow.
// These are limits on waiting for something that will happen, not timing assertions.
configure({ asyncUtilTimeout: 10_000 });
