/**
 * app.json plus what depends on the StreamUs server the app is built for.
 *
 * STREAMUS_APP_LINK_HOST (e.g. `studio.example.com`) makes that server's https join links
 * (`https://<host>/join/<token>/`) open the app: iOS universal links (associatedDomains)
 * and Android App Links (a verified intent filter). The server must then publish
 * /.well-known/apple-app-site-association and /.well-known/assetlinks.json: set MOBILE_IOS_APP_IDS,
 * MOBILE_ANDROID_PACKAGE and MOBILE_ANDROID_CERT_SHA256 on the server (README, "Mobile").
 * EXPO_PUBLIC_STREAMUS_URL is the server the sign-in screen suggests.
 */
import type { ConfigContext, ExpoConfig } from 'expo/config';

export default ({ config }: ConfigContext): ExpoConfig => {
  const host = process.env.STREAMUS_APP_LINK_HOST?.trim();
  const expo = config as ExpoConfig;
  if (!host) {
    return expo;
  }
  return {
    ...expo,
    ios: { ...expo.ios, associatedDomains: [`applinks:${host}`] },
    android: {
      ...expo.android,
      intentFilters: [
        {
          action: 'VIEW',
          autoVerify: true,
          data: [{ scheme: 'https', host, pathPrefix: '/join/' }],
          category: ['BROWSABLE', 'DEFAULT'],
        },
      ],
    },
  };
};
