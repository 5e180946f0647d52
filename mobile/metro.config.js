// Metro as Expo configures it, with its transform cache in the user's cache (kept between
// clones and test runs) instead of the system's temporary folder.
const os = require('node:os');
const path = require('node:path');
const { getDefaultConfig } = require('expo/metro-config');
const { FileStore } = require('metro-cache');

const config = getDefaultConfig(__dirname);
const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
config.cacheStores = [new FileStore({ root: path.join(cacheHome, 'streamus', 'metro') })];

module.exports = config;
