import { fireEvent, screen, waitFor } from '@testing-library/react-native';
import * as SecureStore from 'expo-secure-store';

import SignIn from '@/app/sign-in';
import { AuthSession } from '@/auth/session';

import { SERVER, USER, fakeServer, jwt } from './support/fakeServer';
import { renderScreen } from './support/render';
import { resetRouter, router } from './support/routerMock';

const inFiveMinutes = () => Math.floor(Date.now() / 1000) + 300;
let session: AuthSession;

beforeEach(async () => {
  resetRouter();
  await SecureStore.deleteItemAsync('streamus.refresh');
  await SecureStore.deleteItemAsync('streamus.server');
  session = new AuthSession();
});
afterEach(() => session.dispose());

it('signs in in bearer mode, keeps the refresh token in secure storage and goes to the streams', async () => {
  const server = fakeServer({
    'POST /api/v1/auth/login': () => ({ body: { user: USER, access: jwt(inFiveMinutes()), refresh: 'refresh-1' } }),
  });
  await renderScreen(<SignIn />, session);

  await fireEvent.changeText(await screen.findByTestId('server'), 'studio.example.com/');
  await fireEvent.changeText(screen.getByTestId('email'), 'host@example.com');
  await fireEvent.changeText(screen.getByTestId('password'), 'secret-password');
  await fireEvent.press(screen.getByTestId('sign-in-submit'));

  await waitFor(() => expect(router.replace).toHaveBeenCalledWith('/'));
  const [login] = server.find('POST', '/api/v1/auth/login');
  expect(login?.headers.get('X-Auth-Mode')).toBe('bearer');
  expect(login?.body).toEqual({ email: 'host@example.com', password: 'secret-password' });
  expect(session.getState()).toMatchObject({ status: 'signed-in', server: SERVER });
  expect(await SecureStore.getItemAsync('streamus.refresh')).toBe('refresh-1');
  expect(await SecureStore.getItemAsync('streamus.server')).toBe(SERVER);
});

it('says what the server said when the password is wrong, and stores nothing', async () => {
  fakeServer({
    'POST /api/v1/auth/login': () => ({ status: 401, body: { detail: 'The email or password is incorrect.' } }),
  });
  await renderScreen(<SignIn />, session);
  await fireEvent.changeText(await screen.findByTestId('server'), SERVER);
  await fireEvent.changeText(screen.getByTestId('email'), 'host@example.com');
  await fireEvent.changeText(screen.getByTestId('password'), 'wrong');
  await fireEvent.press(screen.getByTestId('sign-in-submit'));
  expect(await screen.findByText('The email or password is incorrect.')).toBeTruthy();
  expect(router.replace).not.toHaveBeenCalled();
  expect(await SecureStore.getItemAsync('streamus.refresh')).toBeNull();
});

it('a refused stored refresh token lands on sign-in with a reason and the last server filled in', async () => {
  await SecureStore.setItemAsync('streamus.server', SERVER);
  await SecureStore.setItemAsync('streamus.refresh', 'revoked');
  fakeServer({ 'POST /api/v1/auth/refresh': () => ({ status: 401, body: { detail: 'Token is blacklisted' } }) });
  await renderScreen(<SignIn />, session);
  expect(await screen.findByText('Your session ended. Please sign in again.')).toBeTruthy();
  await waitFor(() => expect(screen.getByTestId('server').props.value).toBe(SERVER));
  expect(await SecureStore.getItemAsync('streamus.refresh')).toBeNull();
});
